# One Markdown table from two compare reports (jq -n --slurpfile c CONST/report.json --slurpfile k COSINE/report.json): $const (constant lr; its tuned baseline sets target T) and $cos (the same
# lr with a cosine decay; its baseline's best test loss is T2). Every arm's exact FLOPs (train + FF, evaluations excluded,
# as compare counts them) to the first evaluation at or below each target, and the saving against the baseline of
# that target. Used by scripts/lr-adapt.sh; no number is typed by hand.
def cost($arm; $t): [$arm.curve[] | select(.test_loss <= $t)][0].flops_exact;
def gf: if . == null then "not reached" else (. / 1e9 | round | tostring) end;
def pct($ref): if . == null or $ref == null then "—" else ((1 - . / $ref) * 1000 | round / 10 | tostring) + "%" end;
def scales: [.stages[] | .lr_scale | select(. != null)];
$c[0] as $const | $k[0] as $cos
| ($const.tuned.target_test_loss) as $T
| ($cos.baselines | to_entries[0].value) as $cb
| ($cb.best_test_loss) as $T2
| ($const.baselines | to_entries[0].value) as $kb
| cost($kb; $T) as $refT | cost($cb; $T2) as $refT2
| "T = \($T) (best of the constant-lr baseline at \($const.tuned.lr)); T2 = \($T2) (best of the cosine-decay baseline at the same lr).\n",
  "| run | arm | best test loss | stop | exact GFLOPs to T | saved vs constant baseline | exact GFLOPs to T2 | saved vs cosine baseline | FF stages (τ = 0) | lr multiplier: last (min–max) |",
  "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
  ( [["constant", $const], ["cosine", $cos]][] as [$run, $r]
    | $r.arms | to_entries[] | .key as $name | .value as $a
    | ($a | scales) as $s
    | "| \($run) | \($name) | \($a.best_test_loss * 10000 | round / 10000) | \($a.stop) | \(cost($a; $T) | gf) | \(cost($a; $T) | pct($refT)) "
      + "| \(cost($a; $T2) | gf) | \(cost($a; $T2) | pct($refT2)) | \($a.ff_stages) (\($a.ff_rejected)) "
      + "| \(if ($s | length) == 0 then "—" else "\($s[-1]) (\($s | min)–\($s | max))" end) |" )
