package dev.ffwd.bench;

import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Sampling;
import dev.ffwd.model.Scoring;
import dev.ffwd.model.Transformer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;

/**
 * Greedy decoding speed with and without the KV cache on a random Pythia-160m-shaped model:
 * {@code java -cp target/ffwd.jar dev.ffwd.bench.DecodeBench DIR [NEW_TOKENS] [PROMPT_TOKENS]} (DIR is created if absent).
 * Both runs must produce the same tokens; a mismatch is an error, not a timing.
 */
public final class DecodeBench {

    private DecodeBench() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        Path dir = Path.of(args[0]);
        int newTokens = args.length > 1 ? Integer.parseInt(args[1]) : 256, promptLen = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        if (!Files.exists(dir.resolve("model.safetensors"))) BenchModel.PYTHIA_160M.writeInChildProcess(dir, 1, dev.ffwd.io.DType.F32);
        ModelConfig cfg = ModelConfig.load(dir.resolve("config.json"));
        try (TensorStore store = SafetensorsReader.openModelDir(dir); ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            Transformer model = Pretrained.build(cfg, store, m);
            long[] prompt = new Random(3).longs(promptLen, 0, cfg.vocabSize()).toArray();
            Scoring.generate(model, prompt, 8, Sampling.GREEDY, 0, Set.of(), true);  // warm-up
            long[][] out = new long[2][];
            double[] seconds = new double[2];
            for (int run = 0; run < 2; run++) {
                long t0 = System.nanoTime();
                out[run] = Scoring.generate(model, prompt, newTokens, Sampling.GREEDY, 0, Set.of(), run == 0);
                seconds[run] = (System.nanoTime() - t0) / 1e9;
            }
            if (!Arrays.equals(out[0], out[1])) throw new IllegalStateException("cached and recomputed tokens differ");
            System.out.printf("model %s (%d layers, d %d), prompt %d tokens, %d new tokens, greedy, threads %s%n", dir, cfg.layers(), cfg.hidden(),
                    promptLen, newTokens, System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
            System.out.printf("with KV cache:    %7.2f s  %8.2f tokens/s%n", seconds[0], newTokens / seconds[0]);
            System.out.printf("full recompute:   %7.2f s  %8.2f tokens/s%n", seconds[1], newTokens / seconds[1]);
            System.out.printf("speed-up: %.1fx%n", seconds[1] / seconds[0]);
        }
    }
}
