package dev.ffwd.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.data.Example;
import dev.ffwd.flops.FlopCounter;
import dev.ffwd.flops.Ledger;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Precision;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;
import dev.ffwd.train.TrainConfig;
import dev.ffwd.train.Trainable;
import dev.ffwd.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Times LoRA training steps (forward + backward + AdamW) on a generated model; the engine's sgemm rate is the ceiling. */
public final class Benchmark {

    /** {@code loss}: the session's very first step, on untrained adapters (what the reference must also compute). */
    public record Result(double tokensPerSecond, double stepMs, double gflops, double loss, double peakRssMb) {}

    private Benchmark() {}

    /** The fixed batch both implementations train on, written as JSON for the PyTorch reference. */
    public static long[][] batch(int b, int t, int vocab, long seed, Path json) throws IOException {
        Random r = new Random(seed);
        long[][] ids = new long[b][t];
        for (long[] row : ids) for (int i = 0; i < t; i++) row[i] = r.nextInt(vocab);
        new ObjectMapper().writeValue(json.toFile(), ids);
        return ids;
    }

    /** Opens the generated model once, computing in {@code precision} (FP32 or BF16); {@link #time} may then be called repeatedly. */
    public static final class Session implements AutoCloseable {
        final Transformer model;
        final Trainer trainer;
        final FlopCounter flops;
        final List<Example> examples;  // the batch, as one training step and as one evaluation batch
        final int tokens;
        double firstLoss = Double.NaN;

        public Session(Path dir, BenchModel bm, long[][] ids, int rank, double alpha, TrainConfig.Memory memory, Precision precision) {
            ModelConfig c = ModelConfig.load(dir.resolve("config.json"));
            model = Pretrained.build(c, SafetensorsReader.open(dir.resolve("model.safetensors")), NDManager.newBaseManager());
            model.computeIn(precision);
            LoraConfig lc = new LoraConfig(rank, alpha, 0.0, bm.targets, false);
            List<Example> ex = new ArrayList<>();
            Random labels = new Random(ids.length);
            for (long[] row : ids) {
                if (bm.labels > 0) {  // a classifier's example: a label, no token targets
                    ex.add(new Example(row, new boolean[row.length], labels.nextInt(bm.labels)));
                    continue;
                }
                boolean[] tgt = new boolean[row.length];
                Arrays.fill(tgt, true);
                ex.add(new Example(row, tgt, -1));
            }
            TrainConfig tc = TrainConfig.builder().lr(1e-4).batchSize(ids.length).maxSteps(Long.MAX_VALUE).evalEvery(1)
                    .evalBatchSize(ids.length).checkpointEvery(Integer.MAX_VALUE).seed(0).memory(memory).build();
            flops = new FlopCounter(c, lc, bm.labels, memory.checkpointActivations());
            trainer = Trainable.attach(model, lc, bm.labels, 0, memory.lossChunk()).trainer(tc, ex, flops);  // AdamW, the default
            examples = List.copyOf(ex);
            tokens = ids.length * ids[0].length;
        }

        /** One untimed warm-up step, then {@code steps} timed training steps. */
        public Result time(int steps) {
            double loss = trainer.step();
            if (Double.isNaN(firstLoss)) firstLoss = loss;
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) trainer.step();
            double secs = (System.nanoTime() - t0) / 1e9;
            int b = trainer.config().batchSize();
            double flopsPerStep = flops.trainStep(b, tokens / b).exact();
            return new Result(tokens * steps / secs, 1000 * secs / steps, flopsPerStep * steps / secs / 1e9, firstLoss, peakRssMb());
        }

        /**
         * After one untimed pass, {@code passes} timed test-loss passes over the same batch, as evaluation and Fast
         * Forward's probes run them: forward only, no dropout, no autograd; {@code stepMs} is the time per pass and
         * {@code loss} the last pass's.
         */
        public Result timeEval(int passes) {
            trainer.evaluate(examples, Ledger.Phase.EVAL);
            double loss = Double.NaN;
            long t0 = System.nanoTime();
            for (int i = 0; i < passes; i++) loss = trainer.evaluate(examples, Ledger.Phase.EVAL);
            double secs = (System.nanoTime() - t0) / 1e9;
            return new Result(tokens * passes / secs, 1000 * secs / passes, trainer.passFlops(examples) * passes / secs / 1e9, loss, peakRssMb());
        }

        /** After one warm-up step, {@code steps} training steps under libtorch's profiler; its trace goes to {@code trace}. */
        public StepProfile profile(int steps, Path trace) {
            trainer.step();
            return StepProfile.record(trace, steps, () -> {
                for (int i = 0; i < steps; i++) trainer.step();
            });
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /** fp32 n×n×n matmul rate of the engine, GFLOP/s (best of a few). */
    public static double sgemmGflops(int n, int reps) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomUniform(-1, 1, new Shape(n, n)), b = m.randomUniform(-1, 1, new Shape(n, n));
            a.matMul(b).close();
            double best = 0;
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                a.matMul(b).close();
                best = Math.max(best, 2.0 * n * n * n / ((System.nanoTime() - t0) / 1e9) / 1e9);
            }
            return best;
        }
    }

    /** Peak resident set size of this process (VmHWM), MB; NaN where /proc is unavailable. */
    public static double peakRssMb() {
        return procStatus("VmHWM:");
    }

    /** Resident set size (VmRSS, MB) after collecting the Java heap, so that unreachable direct buffers are freed. */
    public static double settledRssMb() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return procStatus("VmRSS:");
    }

    private static double procStatus(String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status")))
                if (l.startsWith(key)) return Long.parseLong(l.replaceAll("\\D", "")) / 1024.0;
        } catch (IOException | NumberFormatException ignored) {
            // not Linux
        }
        return Double.NaN;
    }
}
