package dev.ffwd.bench;

import dev.ffwd.ChildJvm;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.Stats;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.DType;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Bf16;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Precision;
import dev.ffwd.train.TrainConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Times LoRA training steps (forward, backward, AdamW) on one bench shape, optionally interleaved with the PyTorch
 * reference on the same checkpoint and batch ({@code bench/pytorch_reference.py}), and returns the summary that
 * {@code bench --json} prints per shape. Peak resident memory is per process, so {@link #inChildJvm} measures each
 * shape in a JVM of its own, handing it the {@link Spec} as JSON.
 */
public final class StepBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The seed of every generated benchmark checkpoint. */
    public static final long SEED = 1;

    /** LoRA α of every bench shape (the PyTorch reference uses the same). */
    private static final int ALPHA = 16;

    /** The ceiling a step's rate is a share of: the engine's fp32 sgemm at this size, best of this many, before each pair. */
    private static final int SGEMM_N = 1024, SGEMM_REPS = 3;

    /**
     * One shape's measurement, on its generated {@code checkpoint} ({@link BenchModel#cached}): {@code pairs} timings of {@code steps} steps, each followed by the PyTorch reference's
     * when {@code vsPytorch}; then {@code leakSteps} more steps for memory growth (0: none) and a profile of
     * {@code steps} steps when {@code profile}. {@code progressOnStderr}: the progress lines go to stderr (stdout carries JSON).
     * {@code precision}: what the frozen products compute in (resolved against the CPU in the shape's process);
     * {@code vsFp32}: each timing is followed by the same steps computed in fp32 (when bf16 is used), on a second copy of
     * the model in the same process, for the bf16 speed-up.
     */
    public record Spec(BenchModel shape, Path checkpoint, int batch, int seq, int rank, int threads, int steps, int pairs, int leakSteps,
                       DType storage, Precision precision, boolean vsFp32, int lossChunk, boolean checkpointActivations, boolean vsPytorch,
                       boolean profile, boolean progressOnStderr) {
        public Spec {
            if (shape == null || checkpoint == null || storage == null || precision == null)
                throw new IllegalArgumentException("a bench needs its shape, checkpoint, storage type and precision");
            if (batch < 1 || seq < 2 || rank < 1 || threads < 1 || steps < 1 || pairs < 1 || leakSteps < 0 || lossChunk < 1)
                throw new IllegalArgumentException("bench sizes must be positive (seq >= 2, leak steps >= 0), got " + this);
        }

        LoraConfig lora() {
            return new LoraConfig(rank, ALPHA, 0, shape.targets, false);
        }

        ModelConfig model() {
            return shape.config;
        }
    }

    private StepBench() {}

    /**
     * Whether {@code bm} trains with activation checkpointing: as {@code asked}, or (null) only when the estimated peak
     * exceeds physical memory without it and fits with it; says which on {@code out}. A shape that does not fit either
     * way is refused in one line.
     */
    public static boolean checkpointing(BenchModel bm, int rank, int batch, int seq, int lossChunk, DType storage, Boolean asked, PrintStream out) {
        ModelConfig c = bm.config;
        LoraConfig lc = new LoraConfig(rank, ALPHA, 0, bm.targets, false);
        long physical = MemoryEstimate.physicalBytes();
        MemoryEstimate plain = MemoryEstimate.of(c, storage, lc, batch, seq, lossChunk, false);
        MemoryEstimate ckpt = MemoryEstimate.of(c, storage, lc, batch, seq, lossChunk, true);
        boolean on = asked != null ? asked : plain.total() > physical && ckpt.total() <= physical;
        MemoryEstimate e = on ? ckpt : plain;
        String name = bm.name().toLowerCase(Locale.ROOT);
        out.printf(Locale.ROOT, "%s: estimated peak %s; physical memory %.1f GB%n", name, e.describe(), physical / 1e9);
        if (e.total() > physical)
            throw new FfwdException(String.format(Locale.ROOT, "bench: %s needs an estimated %.1f GB%s, more than this machine's %.1f GB of memory",
                    name, e.total() / 1e9, on ? " even with activation checkpointing" : " (try --checkpoint-activations)", physical / 1e9));
        if (on && asked == null) out.printf(Locale.ROOT, "%s: activation checkpointing on (without it: %.1f GB)%n", name, plain.total() / 1e9);
        return on;
    }

    /** Runs {@code s} in a fresh JVM (this one's class path and options, then {@code jvmOptions}) and returns its summary. */
    public static JsonNode inChildJvm(Spec s, Path work, List<String> jvmOptions) throws IOException {
        String name = s.shape().name().toLowerCase(Locale.ROOT);
        Path spec = work.resolve(name + ".spec.json"), result = work.resolve(name + ".json");
        AtomicFiles.writeString(spec, JSON.writeValueAsString(s));
        ChildJvm.run("bench --shape " + name, StepBench.class.getName(), jvmOptions, List.of(spec.toString(), result.toString()));
        return JSON.readTree(result.toFile());
    }

    /** A shape's own process: {@code SPEC.json RESULT.json}. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) throw new IllegalArgumentException("usage: StepBench SPEC.json RESULT.json");
        Spec s = JSON.readValue(Path.of(args[0]).toFile(), Spec.class);
        ai.djl.engine.Engine.getEngine("PyTorch");  // loads libtorch
        JniUtils.setNumThreads(s.threads());
        JniUtils.setNumInteropThreads(1);
        ObjectNode r = run(s, Files.createTempDirectory("ffwd-bench"), s.progressOnStderr() ? System.err : System.out);
        AtomicFiles.writeString(Path.of(args[1]), JSON.writeValueAsString(r));
    }

    /** Times {@code s} in this process, printing on {@code out}. */
    public static ObjectNode run(Spec s, Path work, PrintStream out) throws IOException {
        BenchModel bm = s.shape();
        Path dir = s.checkpoint(), batchJson = work.resolve("batch.json");
        long[][] ids = Benchmark.batch(s.batch(), s.seq(), s.model().vocabSize(), 2, batchJson);
        out.printf(Locale.ROOT, "%n%s: batch %d x %d, LoRA r=%d on %s, %d threads%n", bm.name().toLowerCase(Locale.ROOT), s.batch(), s.seq(),
                s.rank(), bm.targets, s.threads());
        Precision used = s.precision().on(Bf16.available());
        if (s.precision() != Precision.FP32) out.println("  " + s.precision().describe(used));
        boolean pytorchFits = s.vsPytorch() && pytorchFits(s, out);
        List<Double> ratios = new ArrayList<>(), gflops = new ArrayList<>(), tps = new ArrayList<>(), pyTps = new ArrayList<>(), speedups = new ArrayList<>();
        List<Double> stepMs = new ArrayList<>(), evalMs = new ArrayList<>(), evalGflops = new ArrayList<>(), evalOverStep = new ArrayList<>();
        List<Double> sgemm = new ArrayList<>(), shares = new ArrayList<>();
        double pyPeak = Double.NaN, growth = Double.NaN;
        JsonNode profileJson = null;
        TrainConfig.Memory memory = new TrainConfig.Memory(s.lossChunk(), s.checkpointActivations());
        try (Benchmark.Session ours = new Benchmark.Session(dir, bm, ids, s.rank(), ALPHA, memory, used);
             Benchmark.Session fp32 = s.vsFp32() && used == Precision.BF16 ? new Benchmark.Session(dir, bm, ids, s.rank(), ALPHA, memory, Precision.FP32) : null) {
            for (int p = 0; p < s.pairs(); p++) {
                // fp32 goes first in every other pair, so that neither precision always inherits the other's leftovers
                Benchmark.Result f = fp32 != null && p % 2 == 1 ? fp32(fp32, s, out) : null;
                // the ceiling, measured next to the steps it bounds: these VMs' speed drifts within minutes
                double ceiling = Benchmark.sgemmGflops(SGEMM_N, SGEMM_REPS);
                Benchmark.Result r = ours.time(s.steps());
                if (!Double.isFinite(r.loss())) throw new FfwdException("bench: non-finite loss " + r.loss());
                out.printf(Locale.ROOT, "  ffwd %-4s %8.0f tok/s  %7.1f ms/step  %6.1f GFLOP/s (%.0f%% of sgemm %.1f)  loss %.5f  peak RSS %.0f MB%n",
                        used.label(), r.tokensPerSecond(), r.stepMs(), r.gflops(), 100 * r.gflops() / ceiling, ceiling, r.loss(), r.peakRssMb());
                sgemm.add(ceiling);
                shares.add(r.gflops() / ceiling);
                gflops.add(r.gflops());
                tps.add(r.tokensPerSecond());
                stepMs.add(r.stepMs());
                Benchmark.Result e = ours.timeEval(s.steps());  // what a test-loss pass over the same batch costs against the step
                out.printf(Locale.ROOT, "  eval %-4s %8.0f tok/s  %7.1f ms/pass  %6.1f GFLOP/s  (%.2f of a training step)%n",
                        used.label(), e.tokensPerSecond(), e.stepMs(), e.gflops(), e.stepMs() / r.stepMs());
                evalMs.add(e.stepMs());
                evalGflops.add(e.gflops());
                evalOverStep.add(e.stepMs() / r.stepMs());
                if (fp32 != null) {
                    if (f == null) f = fp32(fp32, s, out);
                    out.printf(Locale.ROOT, "  bf16 speed-up (fp32 step time / bf16 step time) %.2fx%n", f.stepMs() / r.stepMs());
                    if (Math.abs(f.loss() - r.loss()) > Bf16.LOSS_TOLERANCE * Math.abs(f.loss()))
                        throw new FfwdException("bench: the bf16 and fp32 losses differ by more than the stated tolerance (bf16 " + r.loss()
                                + ", fp32 " + f.loss() + ")");
                    speedups.add(f.stepMs() / r.stepMs());
                }
                if (pytorchFits) {
                    JsonNode py = pytorch(s, dir, batchJson);
                    out.printf(Locale.ROOT, "  pytorch %8.0f tok/s  %7.1f ms/step  loss %.5f  peak RSS %.0f MB%n",
                            py.get("tokens_per_s").asDouble(), py.get("step_ms").asDouble(), py.get("loss").asDouble(), py.get("peak_rss_mb").asDouble());
                    double tolerance = used == Precision.BF16 ? Bf16.LOSS_TOLERANCE * Math.abs(r.loss()) : 1e-3;  // PyTorch computes in fp32
                    if (Math.abs(py.get("loss").asDouble() - r.loss()) > tolerance)
                        throw new FfwdException("bench: losses differ (ffwd " + r.loss() + ", pytorch " + py.get("loss").asDouble() + "): not the same work");
                    ratios.add(r.tokensPerSecond() / py.get("tokens_per_s").asDouble());
                    pyTps.add(py.get("tokens_per_s").asDouble());
                    pyPeak = Double.isNaN(pyPeak) ? py.get("peak_rss_mb").asDouble() : Math.max(pyPeak, py.get("peak_rss_mb").asDouble());
                }
            }
            if (!ratios.isEmpty()) {
                DecodeBench.Spread sp = DecodeBench.Spread.of(ratios.stream().mapToDouble(Double::doubleValue).toArray());
                out.printf(Locale.ROOT, "  ratio ffwd/pytorch tokens/s over %d pairs: min %.3f  median %.3f  max %.3f%n",
                        ratios.size(), sp.min(), sp.median(), sp.max());
            }
            if (!speedups.isEmpty()) {
                DecodeBench.Spread sp = DecodeBench.Spread.of(speedups.stream().mapToDouble(Double::doubleValue).toArray());
                out.printf(Locale.ROOT, "  bf16 speed-up (fp32 step time / bf16 step time) over %d pairs: min %.3f  median %.3f  max %.3f%n",
                        speedups.size(), sp.min(), sp.median(), sp.max());
            }
            if (s.leakSteps() > 0) growth = leakCheck(ours, s.leakSteps(), out);
            if (s.profile()) {
                StepProfile sp = ours.profile(s.steps(), work.resolve("trace.json"));
                out.printf(Locale.ROOT, "%n  where one step's time goes (%d profiled steps):%n%n%s", s.steps(), sp.table());
                profileJson = JSON.valueToTree(sp);
            }
        }
        double peak = Benchmark.peakRssMb();
        out.printf(Locale.ROOT, "  peak RSS of this shape's process: ffwd %.0f MB%s%s%n", peak, speedups.isEmpty() ? "" : " (a bf16 and an fp32 model)",
                Double.isNaN(pyPeak) ? "" : String.format(Locale.ROOT, ", pytorch %.0f MB (%.2fx)", pyPeak, peak / pyPeak));
        ObjectNode r = JSON.createObjectNode();
        putSpread(r, "ratio", ratios);
        put(r, "ours_peak_rss_mb", peak);
        put(r, "pytorch_peak_rss_mb", pyPeak);
        put(r, "leak_growth_percent", growth);  // settled RSS over the second half of --leak-steps
        put(r, "gflops", Stats.median(gflops));
        putSpread(r, "sgemm_share", shares);  // each pair's step GFLOP/s over the sgemm measured just before it
        put(r, "sgemm_gflops", Stats.median(sgemm));
        put(r, "tokens_per_s", Stats.median(tps));
        put(r, "step_ms", Stats.median(stepMs));
        put(r, "eval_ms", Stats.median(evalMs));  // one test-loss pass over the same batch: forward only, no autograd
        put(r, "eval_gflops", Stats.median(evalGflops));
        putSpread(r, "eval_over_step", evalOverStep);
        put(r, "pytorch_tokens_per_s", Stats.median(pyTps));
        if (!speedups.isEmpty()) putSpread(r, "bf16_speedup", speedups);
        if (profileJson != null) r.set("profile", profileJson);
        r.put("huge_pages", dev.ffwd.EngineEnv.hugePages());  // the child inherits the launcher's environment
        r.put("allocator", dev.ffwd.EngineEnv.allocator());
        Long mmap = dev.ffwd.EngineEnv.mmapThreshold();
        if (mmap == null) r.putNull("mmap_threshold");  // glibc's own, rising
        else r.put("mmap_threshold", mmap);
        Long arenas = dev.ffwd.EngineEnv.arenas();
        if (arenas == null) r.putNull("malloc_arenas");  // glibc's own limit
        else r.put("malloc_arenas", arenas);
        r.put("precision", used.label())  // of the frozen products; fp32: 2-byte weights are widened first
                .put("dtype", s.storage().name()).put("batch", s.batch()).put("seq", s.seq()).put("rank", s.rank()).put("threads", s.threads())
                .put("loss_chunk", s.lossChunk()).put("checkpoint_activations", s.checkpointActivations()).put("pairs", ratios.size());
        return r;
    }

    /** {@code s.steps()} steps of the fp32 copy of a {@code --precision both} bench, printed. */
    private static Benchmark.Result fp32(Benchmark.Session fp32, Spec s, PrintStream out) {
        Benchmark.Result f = fp32.time(s.steps());
        out.printf(Locale.ROOT, "  ffwd fp32 %8.0f tok/s  %7.1f ms/step  %6.1f GFLOP/s  loss %.5f%n", f.tokensPerSecond(), f.stepMs(), f.gflops(), f.loss());
        return f;
    }

    /** Whether the PyTorch reference (causal shapes; fp32 weights, full logits) can run this shape here; says why when it cannot. */
    private static boolean pytorchFits(Spec s, PrintStream out) {
        if (s.shape().labels > 0 || !s.model().causal()) {
            out.println("  pytorch skipped: bench/pytorch_reference.py implements the causal language-model shapes only");
            return false;
        }
        long need = MemoryEstimate.pytorch(s.model(), s.lora(), s.batch(), s.seq()).total();
        if (need <= MemoryEstimate.physicalBytes()) return true;
        out.printf(Locale.ROOT, "  pytorch skipped: it holds the weights in fp32 and needs an estimated %.1f GB, more than this machine's %.1f GB%n",
                need / 1e9, MemoryEstimate.physicalBytes() / 1e9);
        return false;
    }

    /** {@code NAME_median}, {@code NAME_min} and {@code NAME_max} of {@code values} (null where there are none). */
    private static void putSpread(ObjectNode o, String name, List<Double> values) {
        put(o, name + "_median", Stats.median(values));
        put(o, name + "_min", values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN));
        put(o, name + "_max", values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
    }

    /** JSON has no NaN: an unmeasured value is null. */
    private static void put(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
        else o.putNull(key);
    }

    /** Steps before the first reading of a leak check, at least: RSS still grows over the first hundred or so as the allocator's pools fill. */
    static final int LEAK_WARMUP = 100;

    /**
     * Native-memory growth per half of {@code leakSteps} steps, after a warm-up of {@link #LEAK_WARMUP} steps or a
     * tenth of them: returns the second half's growth in percent, and fails the bench above 5%. A leak grows both halves
     * alike; the allocator settling in grows the first and not the second (at batch 1 × 8 on the small Llama, 18 MB over
     * the first 200 steps after the warm-up and 4 MB over the next 200). The Java heap is collected before each reading,
     * so direct buffers awaiting collection do not count.
     */
    private static double leakCheck(Benchmark.Session ours, int leakSteps, PrintStream out) {
        ours.time(Math.max(LEAK_WARMUP, leakSteps / 10));
        double early = Benchmark.settledRssMb();
        ours.time(leakSteps / 2);
        double middle = Benchmark.settledRssMb();
        ours.time(leakSteps - leakSteps / 2);
        double late = Benchmark.settledRssMb(), growth = 100 * (late / middle - 1);
        out.printf(Locale.ROOT, "  RSS after warm-up: %.0f MB; after %d more steps: %.0f MB; after %d more: %.0f MB (growth over the second half %.1f%%)%n",
                early, leakSteps / 2, middle, leakSteps - leakSteps / 2, late, growth);
        if (growth > 5) throw new FfwdException("bench: resident memory grew " + String.format(Locale.ROOT, "%.1f%%", growth) + " over "
                + (leakSteps - leakSteps / 2) + " steps, after " + leakSteps / 2 + " steps in which it could settle");
        return growth;
    }

    private static JsonNode pytorch(Spec s, Path dir, Path batchJson) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script("pytorch_reference.py").toString(), dir.toString(),
                batchJson.toString(), "--steps", String.valueOf(s.steps()), "--threads", String.valueOf(s.threads()),
                "--rank", String.valueOf(s.rank()), "--alpha", String.valueOf(ALPHA), "--targets", String.join(",", s.shape().targets)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        dev.ffwd.EngineEnv.forReference(pb.environment());
        pb.environment().put("OMP_NUM_THREADS", String.valueOf(s.threads()));
        pb.environment().put("OPENBLAS_NUM_THREADS", String.valueOf(s.threads()));
        Process p = pb.start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) throw new FfwdException("bench: the PyTorch reference failed (exit " + p.exitValue() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FfwdException("bench: interrupted");
        }
        return JSON.readTree(stdout.lines().reduce((a, b) -> b).orElse("{}"));
    }

    /** Installs Debian's python3-torch with OpenBLAS if needed (bench/setup-pytorch.sh). */
    public static void setupPytorch() {
        try {
            Process p = new ProcessBuilder("bash", script("setup-pytorch.sh").toString()).inheritIO().start();
            if (p.waitFor() != 0) throw new FfwdException("bench: installing the PyTorch reference failed; see bench/setup-pytorch.sh");
        } catch (IOException e) {
            throw new FfwdException("bench: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Path script(String name) {
        Path p = Path.of(System.getenv().getOrDefault("FFWD_ROOT", "."), "bench", name);
        if (!Files.isRegularFile(p)) throw new FfwdException(p + ": not found (run from the repository, or set FFWD_ROOT)");
        return p;
    }
}
