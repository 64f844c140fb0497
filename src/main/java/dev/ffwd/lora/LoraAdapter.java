package dev.ffwd.lora;

import ai.djl.ndarray.NDArray;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Linear;
import dev.ffwd.model.Ops;
import dev.ffwd.model.Scalars;
import dev.ffwd.optim.Param;

import java.util.List;

/**
 * The LoRA side path: y = x·Wᵀ + b + s·(drop(x)·Aᵀ)·Bᵀ with A [r, in], B [out, r], s = α/r.
 * B·A is never formed in the forward pass. Variants (as PEFT's lora/variants) extend it: {@link DoraAdapter}.
 */
public sealed class LoraAdapter implements Linear.Adapter permits DoraAdapter {

    final NDArray a, b;
    private final float scale, dropout;

    LoraAdapter(NDArray a, NDArray b, float scale, float dropout) {
        this.a = a;
        this.b = b;
        this.scale = scale;
        this.dropout = dropout;
    }

    /** The adapter {@code config} asks for on layer {@code l}, around fresh A and B (DoRA adds its magnitude). */
    static LoraAdapter create(Linear l, LoraConfig config, NDArray a, NDArray b) {
        float scale = (float) config.scale(), dropout = (float) config.dropout();
        return config.dora() ? DoraAdapter.create(l, a, b, scale, dropout) : new LoraAdapter(a, b, scale, dropout);
    }

    @Override
    public NDArray forward(Linear base, NDArray x, boolean training) {
        NDArray xd = training ? Ops.dropout(x, dropout) : x;
        NDArray lora = Scalars.scale(linear(linear(xd, a), b), scale);  // [.., out]
        return output(base, x, xd, lora);
    }

    /** The layer's output from the frozen path on {@code x} and the side path {@code lora} on the dropped-out {@code xd}. */
    NDArray output(Linear base, NDArray x, NDArray xd, NDArray lora) {
        return base.frozen(x).add(lora);
    }

    /** The weight this adapter folds into {@code base}: W + s·B·A [out, in], in fp32 whatever the frozen weight's storage. */
    NDArray mergedWeight(Linear base) {
        try (Fp32 w = Fp32.of(base.weight())) {
            return w.array().add(delta());
        }
    }

    /** The trainable tensors under PEFT's key names for module path {@code module}, in a fixed order. */
    List<Param> params(String module) {
        return List.of(new Param(Lora.PEFT_PREFIX + module + ".lora_A.weight", a), new Param(Lora.PEFT_PREFIX + module + ".lora_B.weight", b));
    }

    /** s·B·A [out, in]: the weight change this adapter represents (used by merge and DoRA's norm). */
    NDArray delta() {
        return Scalars.scale(b.matMul(a), scale);
    }

    static NDArray linear(NDArray x, NDArray w) {
        return Ops.linear(x, w, null);
    }

    static NDArray trainable(NDArray a) {
        a.setRequiresGradient(true);
        return a;
    }
}
