package dev.ffwd.model;

import ai.djl.ndarray.NDArray;

/** y = x·Wᵀ + b with a frozen W [out, in] (fp32, or F16 from a 2-byte checkpoint), and an optional trainable side path (LoRA, DoRA). */
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

    /** The frozen path alone: x [.., in] -> [.., out], in fp32 whatever the weight's storage. */
    public NDArray frozen(NDArray x) {
        try (Fp32 w = Fp32.of(weight)) {
            return Ops.linear(x, w.array(), bias);
        }
    }

    /** The frozen weight as stored: fp32, or F16 for a 2-byte checkpoint (see {@link Fp32}). */
    public NDArray weight() { return weight; }
    public long in() { return weight.getShape().get(1); }
    public long out() { return weight.getShape().get(0); }
    public Adapter adapter() { return adapter; }
    public void setAdapter(Adapter adapter) { this.adapter = adapter; }

    /** Replaces the frozen weight (merge/unmerge); never modifies the old one, which may be a read-only mapping. */
    public void replaceWeight(NDArray w) {
        if (!w.getShape().equals(weight.getShape()))
            throw new IllegalArgumentException(name + ": weight shape " + weight.getShape() + " cannot become " + w.getShape());
        this.weight = w;
    }
}
