#!/usr/bin/env bash
# The tuning-free methods against a tuned AdamW target that is (nearly) a plateau: the quick suite's tasks and data,
# with the step budget raised from 60 to 200, so that the grid's best learning rate stops at its plateau (or is
# flagged where it does not), and L* is no longer the best loss within 60 steps. Then docs/plateau.md from the reports.
#   SEEDS=3 RESEEDS=1 scripts/plateau.sh
# RESEEDS re-runs each case's tuned learning rate on that many fresh training seeds (compare --reseeds): how often the
# tuned recipe itself reaches L* again. A resume adds them (and new seeds, methods and modes) to the cases already finished.
# Two comparisons at a time, each in its own JVM with one compute thread (suite --jobs 2 on a 2-core machine);
# 17–25 minutes per task and seed each. Only exact FLOPs are compared, so other jobs on the machine do not change the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-3}"
RESEEDS="${RESEEDS:-1}"
TASKS="${TASKS:-spam-assassin,sotu-decade,fortunes,sotu-mlm,moby-dick-mlm}"
METHODS="${METHODS:-schedule-free@5e-3,schedule-free,prodigy,ffwd+lrtau,schedule-free@5e-3+ffwd}"
MODES="${MODES:-ffwd}"  # Fast Forward at the tuned lr (do no harm); none: no FF arm at the tuned lr
OUT=runs/plateau
# Test-loss passes in batches of 128, as the kept runs (docs/runs/plateau) were made: a resume must match their plan.
./ffwd suite --jobs 2 --quick --seeds "$SEEDS" --max-steps 200 --tasks "$TASKS" --methods "$METHODS" --modes "$MODES" \
    --eval-batch-size 128 --reseeds "$RESEEDS" --out "$OUT" --resume
./ffwd results --sections suite --suite "$OUT" --title "Without tuning the learning rate, against a plateau" \
    --reading docs/plateau-reading.md --out docs/plateau.md
