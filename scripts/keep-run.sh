#!/usr/bin/env bash
# Keeps a measurement's evidence in the repository: copies the JSON and Markdown files of a run folder under runs/
# (each comparison's report, plan and arm histories; a bench's JSON) to docs/runs/, without checkpoints or plots.
# runs/ itself is not tracked, so a fresh checkout would otherwise hold the tables and not what they were made from.
#   scripts/keep-run.sh runs/sf-lr runs/perf
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: $0 runs/NAME..." >&2; exit 2; }
for run in "$@"; do
  case "$run" in runs/*) ;; *) echo "keep-run: $run is not under runs/" >&2; exit 2 ;; esac
  [ -d "$run" ] || { echo "keep-run: $run: no such folder" >&2; exit 2; }
  (cd runs && find "${run#runs/}" -type f \( -name '*.json' -o -name '*.md' \) ! -name '*.ckpt*' -print0) |
    while IFS= read -r -d '' f; do
      mkdir -p "docs/runs/$(dirname "$f")"
      cp "runs/$f" "docs/runs/$f"
    done
  echo "kept $run in docs/runs/${run#runs/}"
done
