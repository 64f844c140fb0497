package dev.ffwd.lora;

import ai.djl.ndarray.NDArray;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Linear;
import dev.ffwd.model.Ops;
import dev.ffwd.model.Scalars;

/**
 * The LoRA side path: y = x·Wᵀ + b + s·(drop(x)·Aᵀ)·Bᵀ with A [r, in], B [out, r], s = α/r.
 * B·A is never formed in the forward pass. With DoRA (Liu et al. 2024, as PEFT implements it),
 * a magnitude vector m [out] rescales each output row of W + s·B·A to norm m.
 */
public final class LoraAdapter implements Linear.Adapter {

    final NDArray a, b, magnitude;
    private final float scale, dropout;

    LoraAdapter(NDArray a, NDArray b, NDArray magnitude, float scale, float dropout) {
        this.a = a;
        this.b = b;
        this.magnitude = magnitude;
        this.scale = scale;
        this.dropout = dropout;
    }

    @Override
    public NDArray forward(Linear base, NDArray x, boolean training) {
        NDArray xd = training ? Ops.dropout(x, dropout) : x;
        NDArray lora = Scalars.scale(linear(linear(xd, a), b), scale);  // [.., out]
        if (magnitude == null) return base.frozen(x).add(lora);
        // DoRA: (m/‖W + sBA‖ − 1)·(x_d·Wᵀ) + m/‖W + sBA‖ · lora, added to the frozen output; the norm is not differentiated.
        try (Fp32 w = Fp32.of(base.weight())) {
            NDArray norm = w.array().add(delta()).norm(new int[]{1}).stopGradient();  // [out]
            NDArray magScale = magnitude.div(norm);
            return base.frozen(x).add(linear(xd, w.array()).mul(magScale.sub(1f))).add(lora.mul(magScale));
        }
    }

    /** s·B·A [out, in]: the weight change this adapter represents (used by merge and DoRA's norm). */
    NDArray delta() {
        return Scalars.scale(b.matMul(a), scale);
    }

    private static NDArray linear(NDArray x, NDArray w) {
        return Ops.linear(x, w, null);
    }
}
