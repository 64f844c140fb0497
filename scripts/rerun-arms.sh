#!/usr/bin/env bash
# Re-measures some arms of a finished suite after a change that touches only them: removes those arms, each
# comparison's report and plan, then resumes the suite, which loads every other arm as it was and runs the removed
# ones on the code checked out now. The arms to remove are file-name patterns under <comparison>/arms/.
#   scripts/rerun-arms.sh 'ff-ffwd@*' 'schedule-free@5e-3+ffwd'      (the FF arms of the default variant)
# SEEDS (default 3) and OUT (default runs/suite-quick) as for scripts/results.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-3}" OUT="${OUT:-runs/suite-quick}"
[ "$#" -gt 0 ] || { echo "usage: $0 ARM_PATTERN..." >&2; exit 2; }
for dir in "$OUT"/*/seed-*/; do
  for pattern in "$@"; do rm -f "$dir"arms/$pattern.json "$dir"arms/$pattern.ckpt*; done
  rm -f "$dir"report.json "$dir"report.md "$dir"plan.json
done
./ffwd suite --quick --seeds "$SEEDS" --out "$OUT" --resume
