package dev.ffwd.model;

import ai.djl.ndarray.NDArray;

/**
 * Runs of small ops in one JNI call each, through a {@link TorchScript} module. A decoded token costs one position's
 * worth of arithmetic per op, so its time goes to calling ops: DJL spends more per call (Java objects, JNI, registering
 * the result) than the op computes. {@code rope} and {@code cached} run the same aten ops in the same order as the DJL
 * code they replace, so their results are bit for bit the same. {@code silu}, {@code gelu_tanh} and {@code sdpa} are
 * libtorch's single kernels for what was composed before, equal to it within fp32 rounding, and they keep less for
 * backward. Autograd records through all of them.
 */
final class Fused {

    private static final TorchScript SCRIPT = new TorchScript("Fused", String.join("\n",
            "  def forward(self: __torch__.Fused, x: Tensor) -> Tensor:",
            "    return x",
            // x·cos + swap(x)·sin (Transformer.rope): swap exchanges the halves of the first rd features
            "  def rope(self: __torch__.Fused, x: Tensor, cos: Tensor, sin: Tensor, rotary: Tensor) -> Tensor:",
            "    rd = int(rotary)",
            "    half = rd // 2",
            "    d = torch.size(x, -1)",
            "    parts = [torch.slice(x, -1, half, rd), torch.slice(x, -1, 0, half)]",
            "    if rd < d:",
            "      parts.append(torch.slice(x, -1, rd, d))",
            "    return torch.add(torch.mul(x, cos), torch.mul(torch.cat(parts, -1), sin))",
            // k, v [B, KV, T, D] written at positions [start, start + T) of the buffers [B, KV, C, D]; then
            // softmax(q·scale·kᵀ + bias)·v over positions [0, start + T), each KV head repeated for H/KV query heads
            "  def cached(self: __torch__.Fused, q: Tensor, k: Tensor, v: Tensor, keys: Tensor, values: Tensor,",
            "             start: Tensor, bias: Tensor, scale: Tensor) -> Tensor:",
            "    s = int(start)",
            "    n = s + torch.size(k, 2)",
            "    _0 = torch.copy_(torch.slice(keys, 2, s, n), k)",
            "    _1 = torch.copy_(torch.slice(values, 2, s, n), v)",
            "    kk = torch.slice(keys, 2, 0, n)",
            "    vv = torch.slice(values, 2, 0, n)",
            "    rep = torch.size(q, 1) // torch.size(kk, 1)",
            "    if rep > 1:",
            "      kk = torch.repeat_interleave(kk, rep, 1)",
            "      vv = torch.repeat_interleave(vv, rep, 1)",
            "    scores = torch.matmul(torch.mul(q, scale), torch.transpose(kk, 2, 3))",
            "    o = torch.transpose(torch.matmul(torch.softmax(torch.add(scores, bias), -1), vv), 1, 2)",
            "    return torch.reshape(o, [torch.size(o, 0), torch.size(o, 1), -1])",
            // SiLU and tanh-approximated GELU as single kernels, which save only their input for backward
            "  def silu(self: __torch__.Fused, x: Tensor) -> Tensor:",
            "    return torch.silu(x)",
            "  def gelu_tanh(self: __torch__.Fused, x: Tensor) -> Tensor:",
            "    return torch.gelu(x, approximate=\"tanh\")",
            // softmax(q·scale·kᵀ + bias)·v as libtorch's fused kernel computes it: blockwise, never holding the [B, H, T, S]
            // probabilities, and saving only the output and a log-sum-exp per row for backward
            "  def sdpa(self: __torch__.Fused, q: Tensor, k: Tensor, v: Tensor, bias: Tensor, scale: Tensor) -> Tensor:",
            "    return torch.scaled_dot_product_attention(q, k, v, bias, 0., False, scale=float(scale), enable_gqa=torch.size(q, 1) != torch.size(k, 1))",
            // cached after rope on q and k: the whole of a rotary block's attention between its projections
            "  def rope_cached(self: __torch__.Fused, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, rotary: Tensor,",
            "                  keys: Tensor, values: Tensor, start: Tensor, bias: Tensor, scale: Tensor) -> Tensor:",
            "    return self.cached(self.rope(q, cos, sin, rotary), self.rope(k, cos, sin, rotary), v, keys, values, start, bias, scale)",
            ""));

    private Fused() {}

    /**
     * Rotate-half RoPE of x [B, H, T, D] with full-width tables cos, sin [B, 1, T, D] ({@link Transformer#rope});
     * {@code rotary} is rotaryDim as a 0-d int64 tensor.
     */
    static NDArray rope(NDArray x, NDArray cos, NDArray sin, NDArray rotary) {
        return SCRIPT.run("rope", x, cos, sin, rotary).singletonOrThrow();
    }

    /**
     * Attention over a KV cache: q [B, H, T, D]; k, v [B, KV, T, D], the new positions, written into the slot's
     * buffers first; bias broadcasts to [B, H, T, S]; {@code scale} 0-d fp32. Returns [B, T, H·D].
     */
    static NDArray cached(NDArray q, NDArray k, NDArray v, KvCache.Slot slot, NDArray bias, NDArray scale) {
        return SCRIPT.run("cached", q, k, v, slot.keys(), slot.values(), slot.start(), bias, scale).singletonOrThrow();
    }

    /** x·sigmoid(x) in one kernel: backward keeps x alone, where the composed ops would keep x, sigmoid(x) and more. */
    static NDArray silu(NDArray x) {
        return SCRIPT.run("silu", x).singletonOrThrow();
    }

    /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) in one kernel, saving x alone for backward. */
    static NDArray geluTanh(NDArray x) {
        return SCRIPT.run("gelu_tanh", x).singletonOrThrow();
    }

    /**
     * softmax(q·scale·kᵀ + bias)·v by libtorch's scaled_dot_product_attention: q, k, v [B, H, T|S, D]; bias broadcasts to
     * [B, H, T, S]; {@code scale} 0-d fp32. Returns [B, H, T, D].
     */
    static NDArray sdpa(NDArray q, NDArray k, NDArray v, NDArray bias, NDArray scale) {
        return SCRIPT.run("sdpa", q, k, v, bias, scale).singletonOrThrow();
    }

    /** {@link #cached} of q and k after {@link #rope}, in one call. */
    static NDArray ropeCached(NDArray q, NDArray k, NDArray v, NDArray cos, NDArray sin, NDArray rotary, KvCache.Slot slot,
                              NDArray bias, NDArray scale) {
        return SCRIPT.run("rope_cached", q, k, v, cos, sin, rotary, slot.keys(), slot.values(), slot.start(), bias, scale).singletonOrThrow();
    }
}
