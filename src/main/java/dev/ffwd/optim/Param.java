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

    /** Sets this tensor's values in place ({@link #write}). */
    public void set(float[] values) {
        write(value, values);
    }

    /**
     * Writes {@code values} into {@code dst} in place, bit for bit. Through an indexed copy: DJL's
     * {@code NDArray.set(float[])} and {@code copyTo} enter libtorch's deprecated AutoNonVariableTypeMode, which prints
     * a ~450-character warning on stderr.
     */
    public static void write(NDArray dst, float[] values) {
        try (NDArray src = dst.getManager().create(values, dst.getShape())) {
            write(dst, src);
        }
    }

    /** Copies {@code src} into {@code dst} (same shape) in place, as {@link #write(NDArray, float[])}. */
    public static void write(NDArray dst, NDArray src) {
        if (!src.getShape().equals(dst.getShape()))
            throw new IllegalArgumentException("cannot write " + src.getShape() + " values into " + dst.getShape());
        boolean recording = ai.djl.pytorch.jni.JniUtils.isGradMode();  // a thread's grad mode is on unless turned off (Spark's tasks)
        if (recording) ai.djl.pytorch.jni.JniUtils.setGradMode(false);    // an in-place write to a leaf that requires grad
        try {
            dst.set(ALL, src);
        } finally {
            if (recording) ai.djl.pytorch.jni.JniUtils.setGradMode(true);
        }
    }

    private static final ai.djl.ndarray.index.NDIndex ALL = new ai.djl.ndarray.index.NDIndex("...");
}
