package dev.ffwd.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as stored in a file: name, element type, shape, and its little-endian bytes
 * (usually a slice of a memory-mapped file, so nothing is copied until it is needed).
 */
public record RawTensor(String name, DType dtype, long[] shape, ByteBuffer data) {

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** fp32 little-endian bytes: the mapped slice itself for F32, a converted direct copy for F16/BF16/F64. */
    public ByteBuffer asF32() {
        ByteBuffer src = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F32) return src;
        int n = Math.toIntExact(numel());
        ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case BF16 -> { for (int i = 0; i < n; i++) out.putInt(i * 4, (src.getShort(i * 2) & 0xffff) << 16); }
            case F16 -> { for (int i = 0; i < n; i++) out.putFloat(i * 4, Half.toFloat(src.getShort(i * 2))); }
            case F64 -> { for (int i = 0; i < n; i++) out.putFloat(i * 4, (float) src.getDouble(i * 8)); }
            default -> throw new IllegalStateException("tensor " + name + " has non-float dtype " + dtype);
        }
        return out;
    }

    /**
     * binary16 little-endian bytes, for holding a frozen weight at 2 bytes per value: the mapped slice itself for F16;
     * for BF16 a converted direct copy, exact for |x| ≥ 2⁻¹⁴ and rounded to F16's subnormal grid (an absolute error
     * ≤ 2⁻²⁵) below it. Null when a BF16 value lies beyond F16's range (±65504), or for other types.
     */
    public ByteBuffer asF16OrNull() {
        ByteBuffer src = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F16) return src;
        if (dtype != DType.BF16) return null;
        int n = Math.toIntExact(numel());
        ByteBuffer out = ByteBuffer.allocateDirect(n * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float f = Float.intBitsToFloat((src.getShort(i * 2) & 0xffff) << 16);
            if (Math.abs(f) > Half.MAX && Float.isFinite(f)) return null;
            out.putShort(i * 2, Half.fromFloat(f));
        }
        return out;
    }

    public float[] toFloats() {
        float[] f = new float[Math.toIntExact(numel())];
        asF32().asFloatBuffer().get(f);
        return f;
    }

    /** A heap-backed F32, F16 or BF16 tensor of {@code values}, rounded to nearest even, e.g. for writing. */
    public static RawTensor of(String name, long[] shape, float[] values, DType dtype) {
        if (dtype == DType.F32) return ofFloats(name, shape, values);
        if (dtype != DType.F16 && dtype != DType.BF16) throw new IllegalArgumentException(name + ": cannot encode as " + dtype);
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) put(b, v, dtype);
        return new RawTensor(name, dtype, shape.clone(), b.flip());
    }

    /** Appends {@code v} to little-endian {@code b} as F32, F16 or BF16 (rounded to nearest even). */
    static void put(ByteBuffer b, float v, DType dtype) {
        switch (dtype) {
            case F32 -> b.putFloat(v);
            case F16 -> b.putShort(Half.fromFloat(v));
            case BF16 -> b.putShort(Half.bf16FromFloat(v));
            default -> throw new IllegalArgumentException("cannot encode as " + dtype);
        }
    }

    /** A heap-backed F32 tensor, e.g. for writing. */
    public static RawTensor ofFloats(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new RawTensor(name, DType.F32, shape.clone(), b);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
