#!/usr/bin/env bash
# Re-measures everything docs/results.md reports, then regenerates it from the reports (no number is typed):
#   ./ffwd demo                 (runs/demo; at most 25 minutes on 2 cores)
#   ./ffwd suite --quick        (runs/suite-quick; about 20 minutes on 2 cores)
# Run it on an otherwise idle machine: wall-clock savings are measured too.
set -euo pipefail
cd "$(dirname "$0")/.."
./ffwd demo
./ffwd suite --quick --out runs/suite-quick --overwrite
./ffwd results --demo runs/demo --suite runs/suite-quick --out docs/results.md
