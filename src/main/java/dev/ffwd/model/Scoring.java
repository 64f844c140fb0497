package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.ffwd.FfwdException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** Inference with a causal LM: per-token log-probabilities (alone or as a padded batch) and generation. */
public final class Scoring {

    private Scoring() {}

    /** log p(token_t | tokens_<t) for t ≥ 1; entry 0 is NaN (nothing precedes it). */
    public static double[] tokenLogprobs(Transformer m, long[] ids) {
        requireCausal(m);
        if (ids.length == 0) throw new FfwdException("no tokens to score");
        checkIds(m, ids);
        double[] out = new double[ids.length];
        out[0] = Double.NaN;
        if (ids.length == 1) return out;
        try (NDScope ignored = new NDScope()) {
            NDArray x = m.manager().create(ids, new Shape(1, ids.length));
            NDArray logp = m.logits(m.hidden(x, x.onesLike(), false)).logSoftmax(-1);        // [1, T, V]
            NDArray next = x.get(new NDIndex(":, 1:")).expandDims(2);                         // [1, T-1, 1]
            float[] lp = logp.get(new NDIndex(":, :-1")).gather(next, 2).toFloatArray();
            for (int t = 1; t < ids.length; t++) out[t] = lp[t - 1];
        }
        return out;
    }

    /** Mean negative log-likelihood of tokens 1..T-1. */
    public static double meanNll(double[] logprobs) {
        double s = 0;
        for (int t = 1; t < logprobs.length; t++) s -= logprobs[t];
        return s / Math.max(1, logprobs.length - 1);
    }

    /**
     * Up to {@code maxNew} tokens after {@code prompt} (the new ones only), chosen by {@code sampling} with a
     * Random seeded by {@code seed}, stopping after any token of {@code eos} (empty: never) or at the model's
     * maximum length. With {@code cache} each step feeds one token and reuses earlier keys and values; without,
     * each step recomputes the whole sequence (the reference the cache must equal).
     */
    public static long[] generate(Transformer m, long[] prompt, int maxNew, Sampling sampling, long seed, Set<Long> eos, boolean cache) {
        requireCausal(m);
        if (prompt.length == 0) throw new FfwdException("generation needs a prompt of at least one token");
        if (maxNew < 0) throw new FfwdException("max new tokens must be ≥ 0, got " + maxNew);
        checkIds(m, prompt);
        Random rng = new Random(seed);
        long[] seq = Arrays.copyOf(prompt, prompt.length + maxNew);
        int len = prompt.length, fed = 0;  // seq[0..len) known; seq[0..fed) already in the cache
        try (KvCache kv = cache ? new KvCache(m.config.layers(), Math.min(seq.length, m.config.maxPositions())) : null) {
            while (len - prompt.length < maxNew && len < m.config.maxPositions()) {
                float[] logits;
                try (NDScope ignored = new NDScope()) {
                    long[] input = Arrays.copyOfRange(seq, kv == null ? 0 : fed, len);
                    NDArray x = m.manager().create(input, new Shape(1, input.length));
                    NDArray h = kv == null ? m.hidden(x, x.onesLike(), false)
                            : m.hidden(x, m.manager().ones(new Shape(1, len)), kv);               // [1, T, d]
                    logits = m.logits(h.get(new NDIndex(":, -1:"))).toFloatArray();            // [1, 1, V]
                }
                fed = len;
                long next = sampling.next(logits, rng);
                seq[len++] = next;
                if (eos.contains(next)) break;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }

    /** log p(v | prompt) for every v in the vocabulary: the distribution of the token after {@code prompt}. */
    public static float[] nextLogprobs(Transformer m, long[] prompt) {
        requireCausal(m);
        if (prompt.length == 0) throw new FfwdException("no tokens to score");
        checkIds(m, prompt);
        try (NDScope ignored = new NDScope()) {
            NDArray x = m.manager().create(prompt, new Shape(1, prompt.length));
            return m.logits(m.hidden(x, x.onesLike(), false).get(new NDIndex(":, -1:"))).logSoftmax(-1).toFloatArray();
        }
    }

    /**
     * log p(token_t | tokens_<t) of several sequences scored as one padded batch, padded on the left or the right;
     * entry 0 of each is NaN. Equals scoring each sequence alone.
     */
    public static List<double[]> tokenLogprobs(Transformer m, List<long[]> seqs, boolean padLeft) {
        requireCausal(m);
        int b = seqs.size(), t = seqs.stream().mapToInt(s -> s.length).max().orElse(0);
        if (b == 0 || t == 0) throw new FfwdException("no tokens to score");
        long[] ids = new long[b * t];
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) {
            long[] s = seqs.get(i);
            checkIds(m, s);
            int off = padLeft ? t - s.length : 0;
            for (int j = 0; j < s.length; j++) {
                ids[i * t + off + j] = s[j];
                mask[i * t + off + j] = 1;
            }
        }
        List<double[]> out = new ArrayList<>();
        try (NDScope ignored = new NDScope()) {
            NDArray x = m.manager().create(ids, new Shape(b, t));
            NDArray logp = m.logits(m.hidden(x, m.manager().create(mask, new Shape(b, t)), false)).logSoftmax(-1);  // [B, T, V]
            float[] lp = logp.get(new NDIndex(":, :-1")).gather(x.get(new NDIndex(":, 1:")).expandDims(2), 2).toFloatArray();  // [B, T-1]
            for (int i = 0; i < b; i++) {
                long[] s = seqs.get(i);
                int off = padLeft ? t - s.length : 0;
                double[] r = new double[s.length];
                r[0] = Double.NaN;
                for (int j = 1; j < s.length; j++) r[j] = lp[i * (t - 1) + off + j - 1];
                out.add(r);
            }
        }
        return out;
    }

    private static void checkIds(Transformer m, long[] ids) {
        for (long id : ids)
            if (id < 0 || id >= m.config.vocabSize()) throw new FfwdException("token id " + id + " is outside the vocabulary [0, " + m.config.vocabSize() + ")");
    }

    private static void requireCausal(Transformer m) {
        if (!m.config.causal())
            throw new FfwdException(m.config.source() + ": model_type " + m.config.modelType() + " is an encoder; scoring and generation need a causal LM (pass --model with its folder)");
    }
}
