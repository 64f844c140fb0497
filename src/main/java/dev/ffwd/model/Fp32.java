package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * A frozen array in fp32 for one use: the array itself when it is stored in fp32, or a temporary upcast of a weight
 * held at 2 bytes per value (F16), freed on close. Compute is always fp32 (the engine's F16 matmul runs at about
 * 1 GFLOP/s). Closing only drops this handle: where autograd saved the upcast for backward, it lives until then.
 */
public record Fp32(NDArray array, boolean copy) implements AutoCloseable {

    public static Fp32 of(NDArray stored) {
        return stored.getDataType() == DataType.FLOAT32 ? new Fp32(stored, false) : new Fp32(stored.toType(DataType.FLOAT32, false), true);
    }

    @Override
    public void close() {
        if (copy) array.close();
    }
}
