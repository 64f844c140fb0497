package dev.ffwd.gguf;

/** IEEE 754 binary32 to binary16, rounding to nearest even (Float.floatToFloat16 arrives only in Java 20). */
final class Half {
    private Half() {}

    static short fromFloat(float f) {
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
}
