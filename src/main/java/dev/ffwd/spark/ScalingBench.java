package dev.ffwd.spark;

import dev.ffwd.Stats;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.bench.BenchModel;
import dev.ffwd.bench.Benchmark;
import dev.ffwd.data.Example;
import dev.ffwd.flops.FlopCounter;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Layout;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Precision;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;
import dev.ffwd.train.Replica;
import dev.ffwd.train.TrainConfig;
import dev.ffwd.train.Trainable;
import dev.ffwd.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Scaling of data-parallel steps ({@code ffwd spark-bench}): median step time in one process (one thread) and on a
 * standalone cluster on this machine with 1, 2, ... one-core executors, for several step sizes; and, per step, the
 * compute time of the slowest partition, so that the rest (job scheduling, broadcast, aggregation, driver update) is
 * the overhead. Also the communication per step on paper for any shape ({@link #communication}).
 */
public final class ScalingBench {

    /**
     * @param shape      the model shape (seeded random weights; loaded by every executor)
     * @param seq        tokens per sequence
     * @param micro      sequences per micro-batch (the unit a partition computes)
     * @param stepSizes  sequences per optimizer step (multiples of {@code micro})
     * @param executors  cluster sizes to time, one core each
     * @param rank       LoRA rank (α 16, dropout 0.1 on the shape's default targets)
     * @param steps      timed steps per measurement, after {@code warmup} untimed ones
     */
    /** What one training step is: the model shape, sequence length, micro-batch and LoRA rank. */
    public record Workload(BenchModel shape, int seq, int micro, int rank) {
        public Workload {
            if (shape == null || seq < 2 || micro < 1 || rank < 1) throw new IllegalArgumentException("a shape, seq >= 2, micro and rank >= 1 needed");
        }
    }

    /** The workload, timed at each step size on each executor count: {@code steps} timed steps after {@code warmup}. */
    public record Options(Workload workload, List<Integer> stepSizes, List<Integer> executors, int steps, int warmup, Path work) {
        public Options {
            if (steps < 1 || warmup < 0) throw new IllegalArgumentException("steps >= 1 and warmup >= 0 needed");
            for (int s : stepSizes)
                if (s < workload.micro() || s % workload.micro() != 0)
                    throw new IllegalArgumentException("step size " + s + " is not a multiple of the micro-batch " + workload.micro());
            for (int e : executors) if (e < 1) throw new IllegalArgumentException("executor counts must be >= 1, got " + e);
        }

        BenchModel shape() { return workload.shape(); }
        int seq() { return workload.seq(); }
        int micro() { return workload.micro(); }
        int rank() { return workload.rank(); }
    }

    private static final long SEED = 1;
    private static final double ALPHA = 16, DROPOUT = 0.1;

    private ScalingBench() {}

    public static void run(Options o, PrintStream out) throws IOException {
        Path dir = Files.createDirectories(o.work().resolve(o.shape().name().toLowerCase()));
        if (!Files.exists(dir.resolve("model.safetensors"))) o.shape().writeInChildProcess(dir, SEED, dev.ffwd.io.DType.F32);
        int vocab = new ObjectMapper().readTree(o.shape().configJson).get("vocab_size").asInt();
        int most = o.stepSizes().stream().mapToInt(Integer::intValue).max().orElseThrow();
        List<Example> data = new ArrayList<>();
        for (long[] row : Benchmark.batch(most, o.seq(), vocab, SEED, dir.resolve("batch.json"))) {
            boolean[] t = new boolean[row.length];
            Arrays.fill(t, true);
            data.add(new Example(row, t, -1));
        }
        LoraConfig lc = new LoraConfig(o.rank(), ALPHA, DROPOUT, o.shape().targets, false);
        ModelConfig c = ModelConfig.load(dir.resolve("config.json"));
        out.print(communication(o.shape(), o.rank(), o.seq(), o.stepSizes()));
        ai.djl.engine.Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(1);  // the driver's own steps: one core, as each executor gets
        JniUtils.setNumInteropThreads(1);
        try (Transformer model = Pretrained.build(c, SafetensorsReader.open(dir.resolve("model.safetensors")), NDManager.newBaseManager())) {
            Trainable trainable = Trainable.attach(model, lc, 0, SEED, TrainConfig.Memory.LOSS_CHUNK);
            FlopCounter flops = new FlopCounter(c, lc, 0);
            Replica.Spec spec = new Replica.Spec(dir.toAbsolutePath().toString(), lc, 0, Precision.FP32);
            out.printf(Locale.ROOT, "%n%-6s %-12s %10s %12s %12s%n", "step", "where", "step ms", "compute ms", "overhead ms");
            Map<Integer, Double> oneProcess = new HashMap<>();
            for (int s : o.stepSizes()) {
                TrainConfig cfg = config(o.micro(), s / o.micro());
                Trainer t = trainable.trainer(cfg, data, flops);
                double ms = Stats.median(time(t, o, null)[0]);
                oneProcess.put(s, ms);
                out.printf(Locale.ROOT, "%-6d %-12s %10.1f %12.1f %12s%n", s, "1 process", ms, ms, "-");
            }
            for (int e : o.executors()) {
                try (LocalCluster cluster = LocalCluster.start(e, 1, "3g", Files.createDirectories(o.work().resolve("cluster-" + e)));
                     Cluster spark = Cluster.connect(cluster.masterUrl(), Map.of("spark.executor.cores", "1", "spark.cores.max", Integer.toString(e),
                             "spark.executor.memory", "1g", "spark.driver.host", "127.0.0.1", "spark.driver.bindAddress", "127.0.0.1"))) {
                    spark.awaitExecutors(e, 300);
                    for (int s : o.stepSizes()) {
                        TrainConfig cfg = config(o.micro(), s / o.micro());
                        SparkGradients g = (SparkGradients) spark.gradients().create(spec, cfg, trainable.params());
                        Trainer t = trainable.trainer(cfg, data, flops).gradientsFrom(g);
                        double[][] times = time(t, o, g);
                        double ms = Stats.median(times[0]), compute = Stats.median(times[1]);
                        out.printf(Locale.ROOT, "%-6d %-12s %10.1f %12.1f %12.1f   (%.2fx one process)%n", s,
                                e + (e == 1 ? " executor" : " executors"), ms, compute, ms - compute, oneProcess.get(s) / ms);
                    }
                }
            }
        }
    }

    private static TrainConfig config(int micro, int accum) {
        return TrainConfig.builder().lr(1e-4).batchSize(micro).gradAccum(accum).maxSteps(Long.MAX_VALUE).evalEvery(1)
                .evalBatchSize(micro).checkpointEvery(Integer.MAX_VALUE).seed(SEED).build();
    }

    /** {wall ms per timed step, the slowest partition's compute ms per step} (compute = wall in one process, g null). */
    private static double[][] time(Trainer t, Options o, SparkGradients g) {
        for (int i = 0; i < o.warmup(); i++) step(t);
        double[][] times = new double[2][o.steps()];
        for (int i = 0; i < o.steps(); i++) {
            long t0 = System.nanoTime();
            step(t);
            times[0][i] = (System.nanoTime() - t0) / 1e6;
            times[1][i] = g == null ? times[0][i] : 1000 * g.lastComputeSeconds();
        }
        return times;
    }

    private static void step(Trainer t) {
        if (!Double.isFinite(t.step())) throw new FfwdException("spark-bench: non-finite loss");
    }


    /**
     * Communication per step on paper: the trainable values N (LoRA A and B on the shape's default targets), the
     * broadcast of 4N bytes that every executor fetches, and the 4N-byte partial gradient that every partition returns,
     * against the step's training FLOPs.
     */
    public static String communication(BenchModel shape, int rank, int seq, List<Integer> stepSizes) throws IOException {
        ModelConfig c = ModelConfig.parse(Path.of(shape.name().toLowerCase(), "config.json"), new ObjectMapper().readTree(shape.configJson));
        LoraConfig lc = new LoraConfig(rank, ALPHA, DROPOUT, shape.targets, false);
        long n = 0, modules = 0;
        for (Layout.Module m : c.arch().layout(c).linears())
            if (lc.matches(m.name())) {
                n += (long) rank * (m.in() + m.out());  // A [r, in] + B [out, r]
                modules++;
            }
        if (n == 0) throw new FfwdException(shape + ": no module matches " + shape.targets);
        double mb = 4.0 * n / 1e6;
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "%s, LoRA r=%d on %s (%d modules): %,d trainable values = %.2f MB in fp32%n"
                        + "  per step: broadcast %.2f MB (fetched by every executor), partial gradient %.2f MB per partition (treeAggregate)%n",
                shape.name().toLowerCase(), rank, shape.targets, modules, n, mb, mb, mb));
        FlopCounter flops = new FlopCounter(c, lc, 0);
        for (int s : stepSizes)
            b.append(String.format(Locale.ROOT, "  step of %d x %d tokens: %.3g training FLOPs (%.3g per byte of one broadcast)%n",
                    s, seq, flops.trainStep(s, seq).exact(), flops.trainStep(s, seq).exact() / (4.0 * n)));
        return b.toString();
    }
}
