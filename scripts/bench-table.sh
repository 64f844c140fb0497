#!/usr/bin/env bash
# Renders the output of `./ffwd bench ... --json` (one or more files) as one Markdown table, so that the tables in
# docs/performance.md are generated, not typed. A field the run did not measure (no --vs-pytorch, or a file written
# before ratio_min/ratio_max existed) shows as "–".
#   scripts/bench-table.sh runs/bench.json runs/bench-ckpt.json
# With --profile first, the shapes' `profile` objects (bench --profile): each category's share of a step's time.
#   scripts/bench-table.sh --profile runs/profile.json
set -euo pipefail
# jq helpers: a number rounded to d decimals, and a measured spread (NAME_min / NAME_median / NAME_max) as "min / **median** / max".
DEFS='def r(d): . * pow(10; d) | round / pow(10; d); def spread($n; d): "\(.[$n + "_min"] | r(d)) / **\(.[$n + "_median"] | r(d))** / \(.[$n + "_max"] | r(d))";'
# With --decode, the files of `bench --decode --vs-llamacpp --json`: tokens/s of both engines and their ratio, pair by pair.
#   scripts/bench-table.sh --decode runs/decode-pythia160m.json runs/decode-llama-small.json
# With --bf16, the shapes of `bench --precision both --json`: the bf16 step's speed-up over the fp32 step.
#   scripts/bench-table.sh --bf16 runs/bf16.json
# With --rss, one file per setting, named runs/perf/rss-SETTING.json: each shape's peak RSS, the setting read from the name.
#   scripts/bench-table.sh --rss runs/perf/rss-*.json
if [ "${1:-}" = "--rss" ]; then
  shift
  for f in "$@"; do
    jq -r --arg s "$(basename "$f" .json | sed 's/^rss-//')" '.shapes | to_entries[] | "| \($s) | \(.key) | \(.value.ours_peak_rss_mb | round) |"' "$f"
  done | { echo "| setting | shape | ffwd peak RSS (MB) |"; echo "|---|---|---:|"; cat; }
  exit
fi
if [ "${1:-}" = "--decode" ]; then
  shift
  jq -rn '
    def mmm: "\(.min * 10 | round / 10) / **\(.median * 10 | round / 10)** / \(.max * 10 | round / 10)";
    "| shape | weights | KV cache (llama.cpp) | prompt + new tokens | threads | pairs | ffwd tok/s: min / median / max | llama.cpp tok/s | ffwd / llama.cpp: min / median / max | same greedy tokens |",
    "|---|---|---|---|---:|---:|---:|---:|---:|---|",
    (inputs | .shape as $s | .vs_llamacpp[] |
      "| \($s) | \(.dtype | ascii_upcase) | \(.kv_cache) | \(.prompt_tokens) + \(.new_tokens) | \(.threads) | \(.pairs) | \(.ours_tokens_per_s | mmm) | \(.llamacpp_tokens_per_s | mmm) | \(.ratio_vs_llamacpp_min * 100 | round / 100) / **\(.ratio_vs_llamacpp_median * 100 | round / 100)** / \(.ratio_vs_llamacpp_max * 100 | round / 100) | \(.check.tokens_equal) of \(.check.tokens_compared) |")
  ' "$@"
  exit
fi
if [ "${1:-}" = "--bf16" ]; then
  shift
  jq -rn "$DEFS"'
    "| shape | stored | batch × seq | LoRA r | bf16 speed-up over fp32: min / median / max |",
    "|---|---|---|---:|---:|",
    (inputs | .shapes | to_entries[] | .key as $k | .value |
      "| \($k) | \(.dtype) | \(.batch) × \(.seq) | \(.rank) | \(spread("bf16_speedup"; 2)) |")
  ' "$@"
  exit
fi
# With --eval, what a test-loss pass (forward only, no autograd) over the step's own batch costs against the step.
#   scripts/bench-table.sh --eval runs/perf/eval-minilm.json
if [ "${1:-}" = "--eval" ]; then
  shift
  jq -rn "$DEFS"'
    "| shape | batch × seq | training step (ms) | step GFLOP/s | eval pass (ms) | eval GFLOP/s | eval pass / step: min / median / max |",
    "|---|---|---:|---:|---:|---:|---:|",
    (inputs | .shapes | to_entries[] | .key as $k | .value |
      "| \($k) | \(.batch) × \(.seq) | \(.step_ms | round) | \(.gflops | r(1)) | \(.eval_ms | round) | \(.eval_gflops | r(1)) | \(spread("eval_over_step"; 2)) |")
  ' "$@"
  exit
fi
if [ "${1:-}" = "--profile" ]; then
  shift
  jq -rn '
    [inputs | .shapes | to_entries[] | select(.value.profile != null)] as $rows
    | ($rows[0].value.profile.selfMs | keys_unsorted) as $cats
    | "| shape | batch × seq | step (ms) | " + ($cats | join(" | ")) + " |",
      "|---|---|---:|" + ($cats | map("---:") | join("|")) + "|",
      ($rows[] | .key as $k | .value as $v | ($v.profile.selfMs | add) as $step
        | "| \($k) | \($v.batch) × \($v.seq) | \($step | round) | "
          + ($cats | map(($v.profile.selfMs[.] / $step * 100 | round | tostring) + "%") | join(" | ")) + " |")
  ' "$@"
  exit
fi
jq -rn '
  def n(d): if . == null then "–" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
  def mb: if . == null then "–" else (round | tostring) + " MB" end;
  "| shape | stored | batch × seq | checkpointing | huge pages | malloc | mmap threshold | malloc arenas | ffwd tok/s | PyTorch tok/s | ffwd / PyTorch tok/s: min / median / max | ffwd GFLOP/s (% of sgemm) | sgemm GFLOP/s | ffwd peak RSS | PyTorch peak RSS | RSS ffwd / PyTorch |",
  "|---|---|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ([inputs] | .[] | .shapes | to_entries[] | .key as $k | .value |
    "| \($k) | \(.dtype) | \(.batch) × \(.seq) | \(if .checkpoint_activations then "on" else "off" end) | \(if .huge_pages == null then "–" elif .huge_pages then "yes" else "no" end) | \(.allocator // "–" | split(" ")[0]) | \(if has("mmap_threshold") | not then "–" elif .mmap_threshold == null then "glibc'"'"'s own" else "\(.mmap_threshold / 1048576) MB" end) | \(if has("malloc_arenas") | not then "–" elif .malloc_arenas == null then "glibc'"'"'s own" else .malloc_arenas end) | \(.tokens_per_s | n(0)) | \(.pytorch_tokens_per_s | n(0)) | \(.ratio_min | n(2)) / **\(.ratio_median | n(2))** / \(.ratio_max | n(2)) | \(.gflops | n(1)) (\((.sgemm_share_median // .sgemm_share) as $s | if $s == null then "–" else ($s * 100 | round | tostring) + "%" end)) | \(.sgemm_gflops | n(1)) | \(.ours_peak_rss_mb | mb) | \(.pytorch_peak_rss_mb | mb) | \(if .pytorch_peak_rss_mb == null then "–" else (.ours_peak_rss_mb / .pytorch_peak_rss_mb | n(2)) end) |")
' "$@"
