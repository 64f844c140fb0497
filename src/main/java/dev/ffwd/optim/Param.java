package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

/**
 * A trainable tensor with its checkpoint name (PEFT's key for adapter tensors).
 * The value array is updated in place by optimizers and Fast Forward, so references stay valid.
 */
public record Param(String name, NDArray value) {

    public long size() {
        return value.getShape().size();
    }

    public float[] toFloats() {
        return value.toFloatArray();
    }
}
