package dev.ffwd.bench;

import ai.djl.ndarray.NDManager;
import dev.ffwd.FfwdException;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Sampling;
import dev.ffwd.model.Scoring;
import dev.ffwd.model.Transformer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;

/**
 * Greedy decoding speed of a causal LM with the KV cache and with a full recompute per token. The two are timed in
 * alternation, {@code repeats} times each after one short warm-up, from the same seeded random prompt; every pair must
 * produce the same tokens, or the timing is refused.
 */
public final class DecodeBench {

    private DecodeBench() {}

    /** Seconds per run of each mode, in the order run. */
    public record Result(ModelConfig config, int promptTokens, int newTokens, double[] cachedSeconds, double[] recomputeSeconds) {

        public Spread cachedTokensPerSecond() {
            return Spread.of(Arrays.stream(cachedSeconds).map(s -> newTokens / s).toArray());
        }

        public Spread recomputeTokensPerSecond() {
            return Spread.of(Arrays.stream(recomputeSeconds).map(s -> newTokens / s).toArray());
        }
    }

    /** Min, median and max of some measurements. */
    public record Spread(double min, double median, double max) {
        public static Spread of(double[] values) {
            if (values.length == 0) throw new IllegalArgumentException("no measurements");
            double[] s = values.clone();
            Arrays.sort(s);
            int n = s.length;
            return new Spread(s[0], dev.ffwd.Stats.median(s), s[n - 1]);
        }
    }

    public static Result run(Path modelDir, int promptTokens, int newTokens, int repeats) {
        if (promptTokens < 1 || newTokens < 1 || repeats < 1)
            throw new IllegalArgumentException("decode bench: prompt tokens, new tokens and repeats must be >= 1");
        ModelConfig cfg = ModelConfig.load(modelDir.resolve("config.json"));
        if (!cfg.causal()) throw new FfwdException(modelDir + ": " + cfg.modelType() + " is an encoder; it does not generate");
        try (TensorStore store = SafetensorsReader.openModelDir(modelDir); NDManager m = NDManager.newBaseManager()) {
            Transformer model = Pretrained.build(cfg, store, m);
            long[] prompt = new Random(3).longs(promptTokens, 0, cfg.vocabSize()).toArray();
            Scoring.generate(model, prompt, Math.min(8, newTokens), Sampling.GREEDY, 0, Set.of(), true);  // warm-up
            Scoring.generate(model, prompt, Math.min(8, newTokens), Sampling.GREEDY, 0, Set.of(), false);
            double[] cached = new double[repeats], recompute = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                long[] a = Scoring.generate(model, prompt, newTokens, Sampling.GREEDY, 0, Set.of(), true);
                long t1 = System.nanoTime();
                long[] b = Scoring.generate(model, prompt, newTokens, Sampling.GREEDY, 0, Set.of(), false);
                long t2 = System.nanoTime();
                if (!Arrays.equals(a, b)) throw new FfwdException(modelDir + ": cached and recomputed greedy tokens differ; no timing");
                cached[r] = (t1 - t0) / 1e9;
                recompute[r] = (t2 - t1) / 1e9;
            }
            return new Result(cfg, promptTokens, newTokens, cached, recompute);
        }
    }
}
