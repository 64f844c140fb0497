#!/usr/bin/env bash
# Re-measures everything docs/results.md reports, then regenerates it from the reports (no number is typed):
#   ./ffwd demo                 (runs/demo; docs/results.md says how long it took)
#   ./ffwd suite --quick        (runs/suite-quick: six tasks × SEEDS seeds, two comparisons at a time, each in its own
#                               JVM of one compute thread; docs/results.md says how long one seed took)
#   ./ffwd suite --quick ...    (runs/budget-at-1e-4: FF with and without its probe budget at lr 1e-4, three tasks × 2 seeds)
#   ./ffwd demo --modes ...     (runs/ablation: ffwd with each piece switched off, and the paper's loop)
#   ./ffwd demo --modes profile (runs/line-profile: what the line θ_t + τΔ holds at each lr of the demo's grid)
# Run it on an otherwise idle machine: wall-clock savings are measured too.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-3}"
./ffwd demo
./ffwd suite --quick --seeds "$SEEDS" --out runs/suite-quick --resume
./ffwd suite --quick --seeds 2 --tasks spam-assassin,moby-dick-mlm,fortunes --lr-grid 1e-4 --ff-lrs lr \
    --modes ffwd,ffwd-budget --methods none --reseeds 0 --out runs/budget-at-1e-4 --resume
./ffwd demo --modes ffwd,ffwd-guard,ffwd-span,ffwd-adaptive,ffwd+all,search,paper --out runs/ablation
./ffwd demo --modes profile --ff-lrs 1e-4,3e-4,1e-3,3e-3 --out runs/line-profile
./ffwd results --sections demo,suite,budget --out docs/results.md
./ffwd results --sections ablation,profile --title "Fast Forward, piece by piece, and the line it walks" \
    --reading docs/ablation-reading.md --out docs/ablation.md
