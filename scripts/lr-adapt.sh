#!/usr/bin/env bash
# FF +lr (issue 9): Fast Forward that also scales AdamW's lr from what its stages find, against the tuned baseline at a
# constant lr and against the same lr with a cosine decay over the step budget. Prints one table from the two
# report.json files (scripts/lr-adapt.jq). FLOPs only: wall time on a shared machine means nothing.
#   scripts/lr-adapt.sh run      measure (each command continues a killed run: --resume), then print the table
#   scripts/lr-adapt.sh          print the table from runs/d-lr and runs/d-cosine
# The grid is the tuned lr alone (1e-3, the best of the full demo grid 1e-4..1e-2 when last measured) to fit a shared
# 2-core machine; `./ffwd demo --modes ffwd,ffwd+lr` runs the whole grid.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = run ]; then
  ./ffwd demo --checkpoint-every 5 --lr 1e-3 --lr-grid 1e-3 --ff-lrs 1e-3,1e-4 --modes ffwd+lr --out runs/d-lr --resume
  ./ffwd demo --checkpoint-every 5 --lr 1e-3 --lr-grid 1e-3 --schedule cosine --ff-lrs lr --modes ffwd+lr --out runs/d-cosine --resume
fi
jq -nr --slurpfile c runs/d-lr/report.json --slurpfile k runs/d-cosine/report.json -f scripts/lr-adapt.jq
