package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.ffwd.FfwdException;

import java.util.Random;

/** Inference with a causal LM: per-token log-probabilities and sampling. */
public final class Scoring {

    private Scoring() {}

    /** log p(token_t | tokens_<t) for t ≥ 1; entry 0 is NaN (nothing precedes it). */
    public static double[] tokenLogprobs(Transformer m, long[] ids) {
        requireCausal(m);
        if (ids.length == 0) throw new FfwdException("no tokens to score");
        for (long id : ids)
            if (id < 0 || id >= m.config.vocabSize()) throw new FfwdException("token id " + id + " is outside the vocabulary [0, " + m.config.vocabSize() + ")");
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
     * Appends up to {@code maxNew} sampled tokens (greedy when temperature is 0), stopping at {@code eos} (if ≥ 0).
     * Each step re-runs the whole sequence: there is no KV cache, fine for short generations.
     */
    public static long[] generate(Transformer m, long[] prompt, int maxNew, double temperature, long seed, long eos) {
        requireCausal(m);
        Random rng = new Random(seed);
        long[] seq = prompt.clone();
        for (int i = 0; i < maxNew && seq.length < m.config.maxPositions(); i++) {
            float[] logits;
            try (NDScope ignored = new NDScope()) {
                NDArray x = m.manager().create(seq, new Shape(1, seq.length));
                logits = m.logits(m.hidden(x, x.onesLike(), false).get(new NDIndex(":, -1:"))).toFloatArray();
            }
            long next = temperature <= 0 ? argmax(logits) : sample(logits, temperature, rng);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
            if (next == eos) break;
        }
        return seq;
    }

    private static long argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static long sample(float[] logits, double temperature, Random rng) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float l : logits) max = Math.max(max, l);
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
        double u = rng.nextDouble() * sum;
        for (int i = 0; i < p.length; i++) if ((u -= p[i]) <= 0) return i;
        return p.length - 1;
    }

    private static void requireCausal(Transformer m) {
        if (!m.config.causal())
            throw new FfwdException(m.config.source() + ": model_type " + m.config.modelType() + " is an encoder; scoring and generation need a causal LM");
    }
}
