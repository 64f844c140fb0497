#!/usr/bin/env bash
# The tuning-free methods against a tuned AdamW target that is (nearly) a plateau: the quick suite's tasks and data,
# with the step budget raised from 60 to 200, so that the grid's best learning rate stops at its plateau (or is
# flagged where it does not), and L* is no longer the best loss within 60 steps. Then docs/plateau.md from the reports.
#   SEEDS=2 scripts/plateau.sh        (docs/plateau.md: seeds 42 and 43, sotu-mlm seed 42 only, for lack of time)
# Two suite processes of one compute thread each (the tasks split between them); 17–25 minutes per task and seed
# each on a 2-core machine. Only exact FLOPs are compared, so other jobs on the machine do not change the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-2}"
TASKS="${TASKS:-spam-assassin,sotu-decade,fortunes,moby-dick-mlm,sotu-mlm}"
METHODS="${METHODS:-schedule-free@5e-3,schedule-free,prodigy}"
OUT=runs/plateau
IFS=, read -r -a tasks <<< "$TASKS"
half=$(( (${#tasks[@]} + 1) / 2 ))
first=$(IFS=,; echo "${tasks[*]:0:half}")
second=$(IFS=,; echo "${tasks[*]:half}")
run() { ./ffwd suite --threads 1 --quick --seeds "$SEEDS" --max-steps 200 --tasks "$1" --methods "$METHODS" --modes none --out "$OUT" --resume; }
mkdir -p "$OUT"
./ffwd --version >/dev/null   # builds the jar once, before two processes start
run "$first" &
[ -z "$second" ] || run "$second"
wait
./ffwd suite --quick --seeds "$SEEDS" --max-steps 200 --tasks "$TASKS" --methods "$METHODS" --modes none --out "$OUT" --report-only
./ffwd results --sections suite --suite "$OUT" --title "Without tuning the learning rate, against a plateau" \
    --reading docs/plateau-reading.md --out docs/plateau.md
