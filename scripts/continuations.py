#!/usr/bin/env python3
"""Greedy continuations in float64, for checking `ffwd generate` token for token (src/test/resources/continuations.json).

Loads each model folder (config.json + model.safetensors: F32, F16 or BF16, widened to float64) into the numpy
transcription of the Hugging Face forward passes in scripts/family-variants.py, first checks it against the folder's
reference.json (an independent float64 implementation for ../shared/fixtures; the script's own for the variants) and
fails beyond TOL, then generates MAX_NEW tokens greedily, recomputing the whole sequence every step (no cache) and
ignoring EOS. A step is a meaningful reference only where the best logit beats the second by well over fp32 error, so
each model takes the first 4-token window of its reference token_ids whose every step has a margin above MIN_MARGIN
and whose continuation has at least MIN_DISTINCT different tokens (a random tiny model often repeats one token, which
would hardly test positions).
Usage: scripts/continuations.py SHARED_FIXTURES VARIANTS OUT.json
  e.g. scripts/continuations.py ../shared/fixtures src/test/resources/variants src/test/resources/continuations.json"""
import importlib.util, json, os, struct, sys
import numpy as np

_spec = importlib.util.spec_from_file_location("family_variants", os.path.join(os.path.dirname(os.path.abspath(__file__)), "family-variants.py"))
fv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fv)

SHARED = ["tiny-gpt-neox", "tiny-llama", "tiny-llama-bf16", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-mistral", "tiny-gpt2"]
PROMPT_LEN, MAX_NEW, MIN_MARGIN, MIN_DISTINCT = 4, 16, 1e-3, 4
TOL = {"mean_nll": 1e-9, "token_logprobs": 5e-7 + 1e-9, "logits": 5e-7 + 1e-9}
STYLE = {"llama": {}, "mistral": {}, "qwen2": {}, "qwen3": {"qk_norm": True}, "phi3": {"fused": True}, "gemma": {"gemma": True}}


def read_safetensors(path):
    """name -> float64 array; F32, F16 and BF16 (the top half of an F32) are widened exactly."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header, data = json.loads(f.read(n)), f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        raw = data[t["data_offsets"][0]:t["data_offsets"][1]]
        if t["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view("<f4")
        else:
            a = np.frombuffer(raw, {"F32": "<f4", "F16": "<f2"}[t["dtype"]])
        out[name] = a.astype(np.float64).reshape(t["shape"])
    return out


def forward_fn(model_dir):
    """ids -> logits [T, V] for the folder's model."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    mt = cfg["model_type"]
    if mt == "gpt_neox":
        return lambda ids: fv.gpt_neox(cfg, w, ids)
    if mt == "gpt2":  # GPT2LMHeadModel saves keys under "transformer.", GPT2Model bare
        w = {k.removeprefix("transformer."): v for k, v in w.items()}
        return lambda ids: fv.gpt2(cfg, w, ids)
    cfg.setdefault("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    return lambda ids: fv.decoder(cfg, w, STYLE[mt], ids)


def check_reference(forward, ref):
    """Max abs differences from reference.json (mean_nll, token log-probs, and logits when it has them), and whether
    they are within TOL: ../shared stores logits and log-probs to 6 decimals, so those agree within half a unit of
    the 6th; mean_nll is stored in full."""
    ids = ref["token_ids"]
    logits = forward(ids)
    z = logits - logits.max(-1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    tp = [lp[t - 1, ids[t]] for t in range(1, len(ids))]
    diff = {"mean_nll": abs(-np.mean(tp) - ref["mean_nll"]),
            "token_logprobs": max(abs(tp[t - 1] - ref["token_logprobs"][t]) for t in range(1, len(ids)))}
    if "logits" in ref:
        diff["logits"] = np.abs(logits - np.array(ref["logits"])).max()
    diff = {k: float(v) for k, v in diff.items()}
    return diff, all(v <= TOL[k] for k, v in diff.items())


def greedy(forward, prompt):
    ids, margins = list(prompt), []
    for _ in range(MAX_NEW):
        last = forward(ids)[-1]
        top2 = np.sort(last)[-2:]
        margins.append(float(top2[1] - top2[0]))
        ids.append(int(np.argmax(last)))
    return ids[len(prompt):], margins


def continuation(model_dir, source):
    forward = forward_fn(model_dir)
    ref = json.load(open(os.path.join(model_dir, "reference.json")))
    diff, ok = check_reference(forward, ref)
    if not ok:
        sys.exit(f"{model_dir}: the transcription differs from reference.json by {diff} (tolerances {TOL})")
    ids = ref["token_ids"]
    for start in range(len(ids) - PROMPT_LEN + 1):
        prompt = ids[start:start + PROMPT_LEN]
        generated, margins = greedy(forward, prompt)
        if min(margins) > MIN_MARGIN and len(set(generated)) >= MIN_DISTINCT:
            return {"source": source, "prompt": prompt, "generated_ids": generated, "margins": margins, "reference_max_abs_diff": diff}
    sys.exit(f"{model_dir}: no {PROMPT_LEN}-token window of reference token_ids has every greedy margin above {MIN_MARGIN} "
             f"and {MIN_DISTINCT} different tokens")


def main(shared, variants, out):
    models = {name: continuation(os.path.join(shared, name), "shared") for name in SHARED}
    for name in sorted(os.listdir(variants)):
        models[name] = continuation(os.path.join(variants, name), "variants")
    doc = {"command": "scripts/continuations.py " + " ".join(sys.argv[1:]), "max_new_tokens": MAX_NEW, "min_margin": MIN_MARGIN,
           "min_distinct": MIN_DISTINCT, "models": models}
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, out)  # atomic
    for name, m in models.items():
        print(f"{name:24s} prompt {m['prompt']} min margin {min(m['margins']):.4f} reference diff {m['reference_max_abs_diff']}")


if __name__ == "__main__":
    main(*sys.argv[1:])
