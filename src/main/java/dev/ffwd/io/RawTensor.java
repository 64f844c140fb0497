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
            case F16 -> { for (int i = 0; i < n; i++) out.putFloat(i * 4, halfToFloat(src.getShort(i * 2))); }
            case F64 -> { for (int i = 0; i < n; i++) out.putFloat(i * 4, (float) src.getDouble(i * 8)); }
            default -> throw new IllegalStateException("tensor " + name + " has non-float dtype " + dtype);
        }
        return out;
    }

    /** IEEE 754 binary16 to binary32 (Float.float16ToFloat arrives only in Java 20). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff, sign = (bits & 0x8000) << 16, exp = (bits >>> 10) & 0x1f, mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));   // inf / nan
        if (exp != 0) return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
        float sub = mant * 0x1p-24f;                                                        // subnormal or zero
        return sign != 0 ? -sub : sub;
    }

    public float[] toFloats() {
        float[] f = new float[Math.toIntExact(numel())];
        asF32().asFloatBuffer().get(f);
        return f;
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
