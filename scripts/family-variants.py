#!/usr/bin/env python3
"""Writes tiny random checkpoints of family configurations that ../shared/fixtures does not cover (multi-query and
untied heads, head_dim != hidden/heads, partial rotary, linear RoPE scaling, GPT-2 with bare keys and n_inner, GPT-NeoX
with a sequential residual and with full rotary and a tied head) with reference.json: float64 log-probs from a numpy
transcription of the Hugging Face forward passes (modeling_llama, modeling_qwen2/3, modeling_phi3, modeling_gemma,
modeling_gpt2, modeling_gpt_neox). Independent of the Java code; numpy only.
Usage: scripts/family-variants.py OUT_DIR  (the test resources are src/test/resources/variants)"""
import json, math, os, struct, sys
import numpy as np

IDS = [90, 60, 65, 86, 55, 74, 80, 21, 5, 17, 33, 2]
V = 96


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype='<f4').tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def rms(x, w, eps, offset=False):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * ((1.0 + w) if offset else w)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def gelu_exact(x):  # HF "gelu": the erf form
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))


def linear(w, n, h):  # nn.Linear: weight [out, in], optional bias
    return h @ w[n + ".weight"].T + (w[n + ".bias"] if n + ".bias" in w else 0)


def rope(x, rd, theta, linear_factor=1.0):  # x [H, T, D]: rotate_half on the first rd features
    t = x.shape[1]
    inv = 1.0 / theta ** (np.arange(0, rd, 2) / rd) / linear_factor
    ang = np.arange(t)[:, None] * inv[None, :]
    emb = np.concatenate([ang, ang], -1)
    xr, rest = x[..., :rd], x[..., rd:]
    x1, x2 = xr[..., :rd // 2], xr[..., rd // 2:]
    return np.concatenate([xr * np.cos(emb) + np.concatenate([-x2, x1], -1) * np.sin(emb), rest], -1)


def attend(q, k, v):  # q [H, T, D]; k, v [KV, T, D]; HF repeat_kv: KV head j serves query heads j*rep .. j*rep+rep-1
    rep = q.shape[0] // k.shape[0]
    k, v = np.repeat(k, rep, 0), np.repeat(v, rep, 0)
    s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    t = q.shape[1]
    s = s + np.triu(np.full((t, t), -np.inf), 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (p @ v).transpose(1, 0, 2).reshape(t, -1)  # [T, H*D]


def decoder(cfg, w, style, ids=IDS):
    """Llama-style decoder as in modeling_llama/qwen2/qwen3/phi3/gemma. style: qkv_bias, o_bias, qk_norm, fused, gemma."""
    d, H, KV, D, F = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["intermediate_size"]
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    rd = int(D * cfg.get("partial_rotary_factor", 1.0))
    lf = (cfg.get("rope_scaling") or {}).get("factor", 1.0)
    g = style.get("gemma", False)
    x = w["model.embed_tokens.weight"][ids]
    if g:
        x = x * np.sqrt(d)
    lin = lambda n, h: linear(w, n, h)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, w[p + "input_layernorm.weight"], eps, g)
        if style.get("fused"):
            qkv = lin(p + "self_attn.qkv_proj", h)
            q, k, v = qkv[:, :H * D], qkv[:, H * D:H * D + KV * D], qkv[:, H * D + KV * D:]
        else:
            q, k, v = (lin(p + "self_attn." + n, h) for n in ("q_proj", "k_proj", "v_proj"))
        q = q.reshape(-1, H, D).transpose(1, 0, 2)
        k = k.reshape(-1, KV, D).transpose(1, 0, 2)
        v = v.reshape(-1, KV, D).transpose(1, 0, 2)
        if style.get("qk_norm"):
            q, k = rms(q, w[p + "self_attn.q_norm.weight"], eps), rms(k, w[p + "self_attn.k_norm.weight"], eps)
        x = x + lin(p + "self_attn.o_proj", attend(rope(q, rd, theta, lf), rope(k, rd, theta, lf), v))
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps, g)
        if style.get("fused"):
            gu = lin(p + "mlp.gate_up_proj", h)
            gate, up = gu[:, :F], gu[:, F:]
        else:
            gate, up = lin(p + "mlp.gate_proj", h), lin(p + "mlp.up_proj", h)
        act = gelu_tanh if g else silu
        x = x + lin(p + "mlp.down_proj", act(gate) * up)
    x = rms(x, w["model.norm.weight"], eps, g)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def gpt2(cfg, w, ids=IDS):
    d, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg["layer_norm_epsilon"]
    x = w["wte.weight"][ids] + w["wpe.weight"][np.arange(len(ids))]
    conv = lambda n, h: h @ w[n + ".weight"] + w[n + ".bias"]  # Conv1D: weight [in, out]
    for i in range(L):
        p = f"h.{i}."
        qkv = conv(p + "attn.c_attn", layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps))
        q, k, v = (qkv[:, j * d:(j + 1) * d].reshape(-1, H, d // H).transpose(1, 0, 2) for j in range(3))
        x = x + conv(p + "attn.c_proj", attend(q, k, v))
        x = x + conv(p + "mlp.c_proj", gelu_tanh(conv(p + "mlp.c_fc", layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps))))
    return layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps) @ w["wte.weight"].T


def gpt_neox(cfg, w, ids=IDS):
    """modeling_gpt_neox: fused QKV laid out per head as [q | k | v], rotary on the first rotary_pct of each head,
    LayerNorm, parallel (x + attn(ln1 x) + mlp(ln2 x)) or sequential residual, untied embed_out unless tied."""
    d, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    D, eps, theta = d // H, cfg["layer_norm_eps"], cfg.get("rotary_emb_base", 10000)
    rd = int(D * cfg.get("rotary_pct", 1.0))
    act = {"gelu": gelu_exact, "gelu_new": gelu_tanh}[cfg.get("hidden_act", "gelu")]
    x = w["gpt_neox.embed_in.weight"][ids]
    for i in range(L):
        p = f"gpt_neox.layers.{i}."
        ln = lambda n, h: layer_norm(h, w[p + n + ".weight"], w[p + n + ".bias"], eps)
        mlp = lambda h: linear(w, p + "mlp.dense_4h_to_h", act(linear(w, p + "mlp.dense_h_to_4h", h)))
        qkv = linear(w, p + "attention.query_key_value", ln("input_layernorm", x)).reshape(-1, H, 3 * D).transpose(1, 0, 2)  # [H, T, 3D]
        q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
        a = linear(w, p + "attention.dense", attend(rope(q, rd, theta), rope(k, rd, theta), v))
        if cfg.get("use_parallel_residual", True):
            x = x + a + mlp(ln("post_attention_layernorm", x))
        else:
            x = x + a
            x = x + mlp(ln("post_attention_layernorm", x))
    x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    return x @ w["gpt_neox.embed_in.weight" if cfg.get("tie_word_embeddings") else "embed_out.weight"].T


def decoder_weights(rng, cfg, style):
    d, H, KV, D, F, L = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "intermediate_size", "num_hidden_layers"))
    w = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, d))}
    n = lambda *s: rng.normal(0, 0.3, s)
    for i in range(L):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + n(d) if not style.get("gemma") else n(d)
        w[p + "post_attention_layernorm.weight"] = 1 + n(d) if not style.get("gemma") else n(d)
        if style.get("fused"):
            w[p + "self_attn.qkv_proj.weight"] = n(H * D + 2 * KV * D, d)
            w[p + "mlp.gate_up_proj.weight"] = n(2 * F, d)
        else:
            for name, out in (("q_proj", H * D), ("k_proj", KV * D), ("v_proj", KV * D)):
                w[p + "self_attn." + name + ".weight"] = n(out, d)
                if style.get("qkv_bias"):
                    w[p + "self_attn." + name + ".bias"] = n(out)
            w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"] = n(F, d), n(F, d)
        if style.get("qk_norm"):
            w[p + "self_attn.q_norm.weight"], w[p + "self_attn.k_norm.weight"] = 1 + n(D), 1 + n(D)
        w[p + "self_attn.o_proj.weight"] = n(d, H * D)
        w[p + "mlp.down_proj.weight"] = n(d, F)
    w["model.norm.weight"] = 1 + n(d)
    if not cfg.get("tie_word_embeddings"):
        w["lm_head.weight"] = n(V, d)
    return w


def neox_weights(rng, cfg):
    d, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    n = lambda *s: rng.normal(0, 0.3, s)
    w = {"gpt_neox.embed_in.weight": rng.normal(0, 0.5, (V, d))}
    for i in range(L):
        p = f"gpt_neox.layers.{i}."
        for ln in ("input_layernorm", "post_attention_layernorm"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = 1 + n(d), n(d)
        for name, out, inp in (("attention.query_key_value", 3 * d, d), ("attention.dense", d, d), ("mlp.dense_h_to_4h", F, d),
                               ("mlp.dense_4h_to_h", d, F)):
            w[p + name + ".weight"], w[p + name + ".bias"] = n(out, inp), n(out)
    w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"] = 1 + n(d), n(d)
    if not cfg.get("tie_word_embeddings"):
        w["embed_out.weight"] = n(V, d)
    return w


def base(model_type, **kw):
    c = {"model_type": model_type, "vocab_size": V, "hidden_size": 32, "num_hidden_layers": 2, "max_position_embeddings": 64,
         "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 48, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
         "tie_word_embeddings": False}
    c.update(kw)
    return c


VARIANTS = {
    # multi-query attention, untied head, head_dim 16 != 32/4, biases on q/k/v only
    "qwen2-mqa-untied-hd16": (base("qwen2", num_key_value_heads=1, head_dim=16, rope_theta=1e6), {"qkv_bias": True}),
    # grouped-query, head_dim 12 != 32/4, tied head
    "qwen3-gqa-hd12-tied": (base("qwen3", num_key_value_heads=2, head_dim=12, tie_word_embeddings=True), {"qk_norm": True}),
    # partial rotary (Phi-4-mini style 0.75 of head_dim 8 -> 6), grouped-query
    "phi3-partial-gqa": (base("phi3", num_key_value_heads=2, partial_rotary_factor=0.75), {"fused": True}),
    # Gemma with 2 heads of 24 (hidden 32), grouped-query, untied head
    "gemma-hd24-untied": (base("gemma", num_attention_heads=2, num_key_value_heads=1, head_dim=24, hidden_activation="gelu_pytorch_tanh"),
                          {"gemma": True}),
    # Llama with linear RoPE scaling, multi-query attention, tied head
    "llama-linear-rope-mqa": (base("llama", num_key_value_heads=1, tie_word_embeddings=True,
                                   rope_scaling={"type": "linear", "factor": 4.0}), {}),
}


NEOX = {"model_type": "gpt_neox", "vocab_size": V, "hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2,
        "intermediate_size": 48, "max_position_embeddings": 64, "layer_norm_eps": 1e-5, "rotary_emb_base": 10000, "hidden_act": "gelu",
        "tie_word_embeddings": False}
NEOX_VARIANTS = {
    # x = x + attn(ln1 x); x = x + mlp(ln2 x), Pythia's rotary_pct 0.25
    "gpt-neox-sequential": dict(NEOX, use_parallel_residual=False, rotary_pct=0.25),
    # rotary over the whole head, head tied to embed_in
    "gpt-neox-rotary-full-tied": dict(NEOX, use_parallel_residual=True, rotary_pct=1.0, tie_word_embeddings=True),
}


def logprobs(logits):
    z = logits - logits.max(-1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return [None] + [float(lp[t - 1, IDS[t]]) for t in range(1, len(IDS))]


def save(out, name, cfg, w, logits):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    lp = logprobs(logits)
    json.dump({"token_ids": IDS, "token_logprobs": lp, "mean_nll": -float(np.mean(lp[1:]))}, open(os.path.join(d, "reference.json"), "w"))


def as_stored(w):  # the weights as model.safetensors holds them (fp32), so that the reference is exact for the file
    return {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()}


def main(out):
    rng = np.random.default_rng(20261129)
    for name, (cfg, style) in VARIANTS.items():
        cfg.setdefault("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
        w = as_stored(decoder_weights(rng, cfg, style))
        save(out, name, cfg, w, decoder(cfg, w, style))
    # GPT-2 as GPT2Model saves it: bare keys, attention buffers, n_inner set
    cfg = {"model_type": "gpt2", "vocab_size": V, "n_embd": 32, "n_head": 2, "n_layer": 2, "n_positions": 64, "n_inner": 40,
           "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}
    n = lambda *s: rng.normal(0, 0.3, s)
    w = {"wte.weight": rng.normal(0, 0.5, (V, 32)), "wpe.weight": n(64, 32), "ln_f.weight": 1 + n(32), "ln_f.bias": n(32)}
    for i in range(2):
        p = f"h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = 1 + n(32), n(32)
        for name, i_, o in (("attn.c_attn", 32, 96), ("attn.c_proj", 32, 32), ("mlp.c_fc", 32, 40), ("mlp.c_proj", 40, 32)):
            w[p + name + ".weight"], w[p + name + ".bias"] = n(i_, o), n(o)
    w = as_stored(w)
    logits = gpt2(cfg, w)
    w["h.0.attn.bias"] = np.tril(np.ones((64, 64)))[None, None]
    w["h.0.attn.masked_bias"] = np.array(-1e4)
    save(out, "gpt2-bare-ninner", cfg, w, logits)
    for name, cfg in NEOX_VARIANTS.items():
        w = as_stored(neox_weights(rng, cfg))
        logits = gpt_neox(cfg, w)
        if not cfg["use_parallel_residual"]:  # buffers older Pythia files carry, not weights
            w["gpt_neox.layers.0.attention.masked_bias"] = np.array(-1e9)
            w["gpt_neox.layers.0.attention.rotary_emb.inv_freq"] = 1.0 / 10000 ** (np.arange(0, 2, 2) / 2)
        save(out, name, cfg, w, logits)


if __name__ == "__main__":
    main(sys.argv[1])
