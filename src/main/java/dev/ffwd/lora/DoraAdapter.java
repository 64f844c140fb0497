package dev.ffwd.lora;

import ai.djl.ndarray.NDArray;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Linear;
import dev.ffwd.optim.Param;

import java.util.ArrayList;
import java.util.List;

/**
 * DoRA (Liu et al. 2024, as PEFT implements it): LoRA whose magnitude vector m [out] rescales each output row of
 * W + s·B·A to norm m. The norm is detached (not differentiated), as in PEFT.
 */
final class DoraAdapter extends LoraAdapter {

    final NDArray magnitude;  // [out]

    private DoraAdapter(NDArray a, NDArray b, NDArray magnitude, float scale, float dropout) {
        super(a, b, scale, dropout);
        this.magnitude = magnitude;
    }

    /** The magnitude starts at the row norms of W, so the model's output is unchanged while B is zero. */
    static DoraAdapter create(Linear l, NDArray a, NDArray b, float scale, float dropout) {
        try (Fp32 w = Fp32.of(l.weight())) {
            return new DoraAdapter(a, b, trainable(w.array().norm(new int[]{1})), scale, dropout);
        }
    }

    /** (m/‖W + sBA‖ − 1)·(x_d·Wᵀ) + m/‖W + sBA‖ · lora, added to the frozen output. */
    @Override
    NDArray output(Linear base, NDArray x, NDArray xd, NDArray lora) {
        try (Fp32 w = Fp32.of(base.weight())) {
            NDArray norm = w.array().add(delta()).norm(new int[]{1}).stopGradient();  // [out]
            NDArray magScale = magnitude.div(norm);
            return base.frozen(x).add(linear(xd, w.array()).mul(magScale.sub(1f))).add(lora.mul(magScale));
        }
    }

    /** m·(W + sBA)/‖W + sBA‖, row by row. */
    @Override
    NDArray mergedWeight(Linear base) {
        NDArray w = super.mergedWeight(base);
        return w.mul(magnitude.div(w.norm(new int[]{1})).expandDims(1));
    }

    @Override
    List<Param> params(String module) {
        List<Param> p = new ArrayList<>(super.params(module));
        p.add(new Param(Lora.PEFT_PREFIX + module + ".lora_magnitude_vector", magnitude));
        return p;
    }
}
