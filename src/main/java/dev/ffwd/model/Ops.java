package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

/**
 * The engine's fused ops under plain names, so that model code reads {@code linear(x, w, b)} rather than DJL's
 * internal-array plumbing ({@code getNDArrayInternal()…singletonOrThrow()}), which lives here only.
 */
public final class Ops {

    private Ops() {}

    /** x·wᵀ + b: x [.., in], w [out, in], b [out] or null -> [.., out]. */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        return x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
    }

    /** Rows of {@code table} [N, k] at {@code index} [B, T] -> [B, T, k]. */
    public static NDArray embedding(NDArray table, NDArray index) {
        return index.getNDArrayInternal().embedding(index, table, SparseFormat.DENSE).singletonOrThrow();
    }

    /** LayerNorm over the last dimension with scale w and bias b [d]. */
    public static NDArray layerNorm(NDArray x, NDArray w, NDArray b, double eps) {
        return x.getNDArrayInternal().layerNorm(x, new Shape(w.getShape().get(0)), w, b, (float) eps).singletonOrThrow();
    }

    /** Exact (erf) GELU. */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /** Inverted dropout (kept values scaled by 1/(1 − p)) from the engine's seeded generator; identity when p is 0. */
    public static NDArray dropout(NDArray x, double p) {
        return p > 0 ? x.getNDArrayInternal().dropout(x, (float) p, true).singletonOrThrow() : x;
    }
}
