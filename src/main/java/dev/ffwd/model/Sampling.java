package dev.ffwd.model;

import java.util.Arrays;
import java.util.Random;

/**
 * How the next token is chosen from logits, as Hugging Face's generate applies it: temperature, then top-k, then top-p
 * (nucleus). Temperature 0 is greedy (argmax). Sampling draws from a {@link Random} seeded by the caller.
 */
public record Sampling(double temperature, int topK, double topP) {

    public Sampling {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be ≥ 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be ≥ 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
    }

    public static final Sampling GREEDY = new Sampling(0, 0, 1);

    public boolean greedy() {
        return temperature == 0;
    }

    public long next(float[] logits, Random rng) {
        if (greedy()) return argmax(logits);
        int v = logits.length;
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));  // descending; stable for ties
        int keep = topK > 0 ? Math.min(topK, v) : v;
        double max = logits[order[0]], sum = 0;
        double[] p = new double[keep];
        for (int i = 0; i < keep; i++) sum += p[i] = Math.exp((logits[order[i]] - max) / temperature);
        // nucleus: the smallest prefix whose probability reaches topP (at least one token)
        double cum = 0;
        int n = 0;
        while (n < keep) {
            cum += p[n] / sum;
            n++;
            if (cum >= topP) break;
        }
        double total = 0;
        for (int i = 0; i < n; i++) total += p[i];
        double u = rng.nextDouble() * total;
        for (int i = 0; i < n; i++) if ((u -= p[i]) <= 0) return order[i];
        return order[n - 1];
    }

    static long argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
