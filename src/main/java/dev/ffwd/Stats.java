package dev.ffwd;

import java.util.Arrays;
import java.util.Collection;

/** The order statistic that reports and benchmarks share. */
public final class Stats {

    private Stats() {}

    /** The median of {@code values}, the mean of the two middle ones for an even count; NaN for none. The array is not changed. */
    public static double median(double... values) {
        if (values.length == 0) return Double.NaN;
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    public static double median(Collection<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
