#!/usr/bin/env bash
# Re-measures everything docs/results.md reports, then regenerates it from the reports (no number is typed):
#   ./ffwd demo                 (runs/demo; at most 25 minutes on 2 cores)
#   ./ffwd suite --quick        (runs/suite-quick; about 20 minutes on 2 cores)
#   ./ffwd demo --modes ...     (runs/ablation: ffwd with each piece switched off, and the paper's loop)
#   ./ffwd demo --modes profile (runs/line-profile: what the line θ_t + τΔ holds at each lr of the demo's grid)
# Run it on an otherwise idle machine: wall-clock savings are measured too.
set -euo pipefail
cd "$(dirname "$0")/.."
./ffwd demo
./ffwd suite --quick --out runs/suite-quick --overwrite
./ffwd demo --modes ffwd,ffwd-guard,ffwd-span,ffwd-adaptive,ffwd+all,search,paper --out runs/ablation
./ffwd demo --modes profile --ff-lrs 1e-4,3e-4,1e-3,3e-3 --out runs/line-profile
./ffwd results --sections demo,suite --out docs/results.md
./ffwd results --sections ablation,profile --title "Fast Forward, piece by piece, and the line it walks" \
    --reading docs/ablation-reading.md --out docs/ablation.md
