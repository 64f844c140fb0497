package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Multiplication by a constant that is safe under autograd. DJL's {@code x.mul(Number)} wraps the number in a 0-d
 * tensor that borrows a Java direct buffer and closes it right after the op; autograd keeps that tensor to compute
 * the backward pass, so after a garbage collection the backward reads freed memory (seen as sporadic NaN/Inf
 * gradients after many steps). A scalar made by {@code full} owns its memory natively.
 */
public final class Scalars {

    private Scalars() {}

    /** x · s, differentiable with respect to x. */
    public static NDArray scale(NDArray x, double s) {
        return x.mul(x.getManager().full(new Shape(), (float) s, DataType.FLOAT32));
    }
}
