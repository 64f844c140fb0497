#!/usr/bin/env python3
"""Plain-PyTorch reference for `ffwd bench --vs-pytorch`: the same architecture, LoRA and AdamW as ffwd,
on the same weights and batch, timed the same way (forward + backward + AdamW per step).

usage: pytorch_reference.py MODEL_DIR BATCH_JSON --steps N --warmup W --threads T --rank R --alpha A
Prints one JSON line: {"tokens_per_s", "step_ms", "loss", "peak_rss_mb"}.
"""
import argparse, json, math, struct, time
import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    out = {}
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        for name, e in header.items():
            if name == '__metadata__':
                continue
            b, t = e['data_offsets']
            f.seek(8 + n + b)
            out[name] = widen(name, e, f.read(t - b))  # one tensor's bytes at a time: the file is never held whole
    return out


def widen(name, e, raw):
    """One tensor's little-endian bytes as an fp32 tensor, as plain PyTorch on CPU computes."""
    if e['dtype'] == 'F32':
        a = np.frombuffer(raw, dtype='<f4').copy()
    elif e['dtype'] == 'F16':
        a = np.frombuffer(raw, dtype='<f2').astype(np.float32)
    elif e['dtype'] == 'BF16':  # numpy has no bfloat16: widen the bits
        a = (np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16).view(np.float32)
    else:
        raise ValueError(f'{name}: dtype {e["dtype"]}')
    return torch.from_numpy(a.reshape(e['shape']))


class LoraLinear(torch.nn.Module):
    """y = x W^T + b + s * (x A^T) B^T, W frozen (requires_grad False), A Kaiming-uniform, B zero."""
    def __init__(self, w, b, r=0, alpha=1.0):
        super().__init__()
        self.w, self.b = w, b
        self.r = r
        if r:
            self.A = torch.nn.Parameter(torch.empty(r, w.shape[1]).uniform_(-1 / math.sqrt(w.shape[1]), 1 / math.sqrt(w.shape[1])))
            self.B = torch.nn.Parameter(torch.zeros(w.shape[0], r))
            self.s = alpha / r

    def forward(self, x):
        y = F.linear(x, self.w, self.b)
        if self.r:
            y = y + F.linear(F.linear(x, self.A), self.B) * self.s
        return y


def rope(x, rd, theta):
    t = x.shape[2]
    inv = 1.0 / (theta ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    ang = torch.arange(t, dtype=torch.float64)[:, None] * inv[None, :]
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos().float(), emb.sin().float()
    xr, xp = x[..., :rd], x[..., rd:]
    x1, x2 = xr[..., :rd // 2], xr[..., rd // 2:]
    out = xr * cos + torch.cat([-x2, x1], -1) * sin
    return torch.cat([out, xp], -1)


def attend(q, k, v):
    t = q.shape[2]
    mask = torch.full((t, t), -1e9).triu(1)
    s = (q * (1 / math.sqrt(q.shape[-1]))) @ k.transpose(-1, -2) + mask
    return s.softmax(-1) @ v


class Model(torch.nn.Module):
    def __init__(self, cfg, w, targets, r, alpha):
        super().__init__()
        self.cfg, self.w = cfg, w
        self.neox = cfg['model_type'] == 'gpt_neox'
        self.lin = torch.nn.ModuleDict()
        for name in [k[:-7] for k in w if k.endswith('.weight') and w[k].dim() == 2 and 'embed' not in k and 'lm_head' not in k]:
            hit = any(name.endswith('.' + t) for t in targets)
            self.lin[name.replace('.', '_')] = LoraLinear(w[name + '.weight'], w.get(name + '.bias'), r if hit else 0, alpha)

    def L(self, name, x):
        return self.lin[name.replace('.', '_')](x)

    def forward(self, ids):
        c, w = self.cfg, self.w
        B, T = ids.shape
        H, d = c['num_attention_heads'], c['hidden_size']
        D = d // H
        if self.neox:
            x = F.embedding(ids, w['gpt_neox.embed_in.weight'])
            rd = int(D * c.get('rotary_pct', 1.0))
            for i in range(c['num_hidden_layers']):
                p = f'gpt_neox.layers.{i}.'
                h = F.layer_norm(x, (d,), w[p + 'input_layernorm.weight'], w[p + 'input_layernorm.bias'], c['layer_norm_eps'])
                qkv = self.L(p + 'attention.query_key_value', h).view(B, T, H, 3 * D).transpose(1, 2)
                q, k, v = qkv.split(D, -1)
                q, k = rope(q, rd, c['rotary_emb_base']), rope(k, rd, c['rotary_emb_base'])
                a = self.L(p + 'attention.dense', attend(q, k, v).transpose(1, 2).reshape(B, T, d))
                h2 = F.layer_norm(x, (d,), w[p + 'post_attention_layernorm.weight'], w[p + 'post_attention_layernorm.bias'], c['layer_norm_eps'])
                m = self.L(p + 'mlp.dense_4h_to_h', F.gelu(self.L(p + 'mlp.dense_h_to_4h', h2)))
                x = x + a + m
            x = F.layer_norm(x, (d,), w['gpt_neox.final_layer_norm.weight'], w['gpt_neox.final_layer_norm.bias'], c['layer_norm_eps'])
            return F.linear(x, w['embed_out.weight'])
        KV = c.get('num_key_value_heads', H)
        eps = c['rms_norm_eps']
        rms = lambda x, g: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g
        x = F.embedding(ids, w['model.embed_tokens.weight'])
        for i in range(c['num_hidden_layers']):
            p = f'model.layers.{i}.'
            h = rms(x, w[p + 'input_layernorm.weight'])
            q = rope(self.L(p + 'self_attn.q_proj', h).view(B, T, H, D).transpose(1, 2), D, c['rope_theta'])
            k = rope(self.L(p + 'self_attn.k_proj', h).view(B, T, KV, D).transpose(1, 2), D, c['rope_theta'])
            v = self.L(p + 'self_attn.v_proj', h).view(B, T, KV, D).transpose(1, 2)
            k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
            x = x + self.L(p + 'self_attn.o_proj', attend(q, k, v).transpose(1, 2).reshape(B, T, d))
            h = rms(x, w[p + 'post_attention_layernorm.weight'])
            x = x + self.L(p + 'mlp.down_proj', F.silu(self.L(p + 'mlp.gate_proj', h)) * self.L(p + 'mlp.up_proj', h))
        head = w['lm_head.weight'] if 'lm_head.weight' in w else w['model.embed_tokens.weight']  # tied (Qwen2.5-1.5B)
        return F.linear(rms(x, w['model.norm.weight']), head)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model'); ap.add_argument('batch')
    ap.add_argument('--steps', type=int, default=10); ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--rank', type=int, default=64)
    ap.add_argument('--alpha', type=float, default=16); ap.add_argument('--targets', default='query_key_value')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.load(open(a.model + '/config.json'))
    model = Model(cfg, load_safetensors(a.model + '/model.safetensors'), a.targets.split(','), a.rank, a.alpha)
    ids = torch.tensor(json.load(open(a.batch)), dtype=torch.long)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.0)

    def step():
        logits = model(ids)[:, :-1]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
        return loss.item()

    loss0 = step()
    for _ in range(a.warmup - 1):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({'tokens_per_s': ids.numel() * a.steps / dt, 'step_ms': 1000 * dt / a.steps, 'loss': loss0,
                      'peak_rss_mb': peak_rss_mb()}))


def peak_rss_mb():
    # VmHWM of this process image; ru_maxrss would include the parent JVM's footprint inherited across fork/exec
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return float('nan')


if __name__ == '__main__':
    main()
