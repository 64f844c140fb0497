package dev.ffwd.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * BERT's masked-language-model corruption (Devlin et al. 2019; create_pretraining_data.py). An example's candidate
 * positions are its target flags (every token but the special ones: never [CLS], [SEP] or padding); of those,
 * {@link #count} (15%, at least one) are chosen. Each chosen position becomes {@code maskId} with probability 0.8, a
 * uniformly drawn vocabulary id in [0, {@code vocabSize}) with 0.1, and keeps its token with 0.1. The masked example has
 * the corrupted ids, target flags on the chosen positions only, and the original ids as its token labels.
 * <p>
 * Deterministic: example i's choices come from a generator seeded by (seed, i) alone, so the same examples with the
 * same seed are masked identically in every run. Masks are drawn once, when the data is encoded, and not redrawn per
 * epoch (BERT's own pipeline also wrote fixed masks into its data): simpler, the test loss is the same number at every
 * evaluation, and a resumed run sees exactly what an uninterrupted one would.
 */
public record Masking(long maskId, int vocabSize) {

    /** The share of candidate positions predicted, and the shares of those replaced by the mask token and by a random id. */
    public static final double RATE = 0.15, TO_MASK = 0.8, TO_RANDOM = 0.1;

    /** Mixed into the run's seed so that the masks do not follow the split's shuffle, which the seed drives directly. */
    static final long SEED_MIX = 0x6A09E667F3BCC909L;

    public Masking {
        if (maskId < 0 || maskId >= vocabSize) throw new IllegalArgumentException("mask id " + maskId + " outside the vocabulary of " + vocabSize);
    }

    /** How many of {@code candidates} positions are predicted: 15%, rounded, and at least one (none of none). */
    public static int count(int candidates) {
        return candidates == 0 ? 0 : Math.max(1, (int) Math.round(RATE * candidates));
    }

    /** Each example masked by its own generator, seeded by {@code seed} and its index in {@code examples}. */
    public List<Example> apply(List<Example> examples, long seed) {
        List<Example> out = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) out.add(apply(examples.get(i), seed, i));
        return out;
    }

    /** Example {@code e} (its target flags mark the candidates) masked by the generator of ({@code seed}, {@code index}). */
    public Example apply(Example e, long seed, long index) {
        int len = e.length();
        int[] cand = new int[len];
        int c = 0;
        for (int t = 0; t < len; t++) if (e.target()[t]) cand[c++] = t;
        if (c == 0) throw new IllegalArgumentException("example " + index + " has no position to mask (only special tokens)");
        Random rng = new Random(mix(seed ^ SEED_MIX, index));
        long[] ids = e.ids().clone(), original = e.ids().clone();
        boolean[] target = new boolean[len];
        int n = count(c);
        for (int k = 0; k < n; k++) {  // a partial Fisher–Yates shuffle: cand[0..n) become a uniform sample without replacement
            int j = k + rng.nextInt(c - k);
            int pos = cand[j];
            cand[j] = cand[k];
            cand[k] = pos;
            target[pos] = true;
            double u = rng.nextDouble();
            if (u < TO_MASK) ids[pos] = maskId;
            else if (u < TO_MASK + TO_RANDOM) ids[pos] = rng.nextInt(vocabSize);
        }
        return new Example(ids, target, e.label(), original);
    }

    /** SplitMix64's finalizer over seed and index: well-spread seeds for neighbouring indices. */
    private static long mix(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
