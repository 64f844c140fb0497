package dev.ffwd.model;

import ai.djl.ndarray.NDArray;

/**
 * y = x·Wᵀ + b with a frozen W [out, in] (fp32, F16 from a 2-byte checkpoint, or a bf16 handle for bf16 compute, see
 * {@link Bf16}), and an optional trainable side path (LoRA, DoRA).
 */
public final class Linear {

    /** A trainable path around a frozen linear layer. */
    public interface Adapter {
        NDArray forward(Linear base, NDArray x, boolean training);
    }

    public final String name;  // HF module path, e.g. "gpt_neox.layers.0.attention.query_key_value"
    private NDArray weight;    // [out, in]
    private final NDArray bias; // [out] or null
    private Adapter adapter;

    public Linear(String name, NDArray weight, NDArray bias) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    public NDArray forward(NDArray x, boolean training) {
        return adapter == null ? frozen(x) : adapter.forward(this, x, training);
    }

    /** The frozen path alone: x [.., in] -> [.., out] in fp32; the product in bf16 when the weight is a bf16 handle, else in fp32. */
    public NDArray frozen(NDArray x) {
        if (Bf16.holds(weight)) return Bf16.linear(x, weight, bias);
        try (Fp32 w = Fp32.of(weight)) {
            return Ops.linear(x, w.array(), bias);
        }
    }

    /** The frozen weight as held: fp32, F16 for a 2-byte checkpoint (see {@link Fp32}), or a bf16 handle ({@link Bf16}). */
    public NDArray weight() { return weight; }
    public long in() { return weight.getShape().get(1); }
    public long out() { return weight.getShape().get(0); }
    public Adapter adapter() { return adapter; }
    public void setAdapter(Adapter adapter) { this.adapter = adapter; }

    /**
     * Holds the frozen weight as a bf16 handle from now on, so that {@link #frozen} computes in bf16; the fp32 or F16
     * copy is freed. A merged weight set later ({@link #replaceWeight}) is fp32 and computes in fp32, exactly.
     */
    void toBf16() {
        if (Bf16.holds(weight)) return;
        NDArray held = weight;
        weight = Bf16.weight(held);
        held.close();
    }

    /** Replaces the frozen weight (merge/unmerge); never modifies the old one, which unmerge puts back. */
    public void replaceWeight(NDArray w) {
        if (!w.getShape().equals(weight.getShape()))
            throw new IllegalArgumentException(name + ": weight shape " + weight.getShape() + " cannot become " + w.getShape());
        this.weight = w;
    }
}
