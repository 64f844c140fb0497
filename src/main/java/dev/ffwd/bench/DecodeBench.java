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
import java.util.function.Function;

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
        return withModel(modelDir, model -> {
            long[] prompt = prompt(model.config, promptTokens);
            greedy(model, prompt, Math.min(8, newTokens), true);  // warm-up
            greedy(model, prompt, Math.min(8, newTokens), false);
            double[] cached = new double[repeats], recompute = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                Timed a = greedy(model, prompt, newTokens, true), b = greedy(model, prompt, newTokens, false);
                if (!Arrays.equals(a.tokens(), b.tokens())) throw new FfwdException(modelDir + ": cached and recomputed greedy tokens differ; no timing");
                cached[r] = a.seconds();
                recompute[r] = b.seconds();
            }
            return new Result(model.config, promptTokens, newTokens, cached, recompute);
        });
    }

    /**
     * After a warm-up, {@code newTokens} greedy tokens with the KV cache under libtorch's profiler (its trace goes to
     * {@code trace}): where a token's time goes, averaged over the tokens (the prompt's pass, which gives the first, among them).
     */
    public static StepProfile profile(Path modelDir, int promptTokens, int newTokens, Path trace) {
        return withModel(modelDir, model -> {
            long[] prompt = prompt(model.config, promptTokens);
            greedy(model, prompt, Math.min(8, newTokens), true);
            return StepProfile.record(trace, newTokens, () -> greedy(model, prompt, newTokens, true));
        });
    }

    /** The seeded random prompt every decoding bench feeds. */
    static long[] prompt(ModelConfig cfg, int promptTokens) {
        return new Random(3).longs(promptTokens, 0, cfg.vocabSize()).toArray();
    }

    /** {@code body} applied to the causal LM in {@code modelDir}, loaded for the call. */
    static <T> T withModel(Path modelDir, Function<Transformer, T> body) {
        ModelConfig cfg = ModelConfig.load(modelDir.resolve("config.json"));
        if (!cfg.causal()) throw new FfwdException(modelDir + ": " + cfg.modelType() + " is an encoder; it does not generate");
        try (TensorStore store = SafetensorsReader.openModelDir(modelDir); NDManager m = NDManager.newBaseManager()) {
            return body.apply(Pretrained.build(cfg, store, m));
        }
    }

    /** Greedy tokens and the seconds they took: the prompt in one pass, then one pass per token, with or without the KV cache. */
    record Timed(long[] tokens, double seconds) {}

    static Timed greedy(Transformer model, long[] prompt, int newTokens, boolean cache) {
        long t0 = System.nanoTime();
        long[] tokens = Scoring.generate(model, prompt, newTokens, Sampling.GREEDY, 0, Set.of(), cache);
        return new Timed(tokens, (System.nanoTime() - t0) / 1e9);
    }
}
