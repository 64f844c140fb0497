package dev.ffwd.io;

/**
 * IEEE 754 binary16 conversions (Float.floatToFloat16 and float16ToFloat arrive only in Java 20), and binary32 to
 * bfloat16 (its upper 16 bits).
 */
public final class Half {
    private Half() {}

    /** The largest finite binary16 value. */
    public static final float MAX = 65504f;

    /** binary32 to binary16, rounding to nearest even. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000, exp = (bits >>> 23) & 0xff, mant = bits & 0x7fffff;
        if (exp == 0xff) return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));  // NaN stays NaN, inf stays inf
        int e = exp - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00);                                               // overflow: inf
        if (e <= 0) {                                                                                // subnormal or zero
            if (e < -10) return (short) sign;
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = m >>> shift, rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
            if (rest > mid || (rest == mid && (half & 1) == 1)) half++;
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13), rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) half++;  // may carry into the exponent: correct
        return (short) (sign | half);
    }

    /** binary16 to binary32 (exact). */
    public static float toFloat(short h) {
        int bits = h & 0xffff, sign = (bits & 0x8000) << 16, exp = (bits >>> 10) & 0x1f, mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));   // inf / nan
        if (exp != 0) return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
        float sub = mant * 0x1p-24f;                                                        // subnormal or zero
        return sign != 0 ? -sub : sub;
    }

    /**
     * binary32 to bfloat16, rounding to nearest even as ggml's {@code ggml_compute_fp32_to_bf16} does (and so
     * llama.cpp's converter): a NaN stays a NaN, made quiet (without that, the rounding add could carry a NaN's
     * mantissa into infinity or the sign bit); a finite value beyond bfloat16's largest rounds to infinity.
     */
    public static short bf16FromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}
