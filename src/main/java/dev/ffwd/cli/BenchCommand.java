package dev.ffwd.cli;

import dev.ffwd.Stats;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.bench.BenchModel;
import dev.ffwd.bench.Benchmark;
import dev.ffwd.bench.ChildJvm;
import dev.ffwd.bench.DecodeBench;
import dev.ffwd.bench.MemoryEstimate;
import dev.ffwd.bench.StepProfile;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.DType;
import dev.ffwd.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

@Command(name = "bench", description = "Time a LoRA training step (forward + backward + AdamW), optionally against plain PyTorch in the same run; "
        + "or (--decode) greedy decoding with and without the KV cache.")
final class BenchCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The bench shapes, for --shape's help. */
    static final class Shapes extends java.util.ArrayList<String> {
        Shapes() {
            super(java.util.Arrays.stream(BenchModel.values()).map(b -> b.name().toLowerCase(Locale.ROOT)).toList());
        }
    }

    @Option(names = "--shape", split = ",", defaultValue = "pythia_70m,llama_small", completionCandidates = Shapes.class,
            description = "Model shapes to time: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). "
            + "Each is generated once under $FFWD_HOME/bench.") List<String> shapes;
    @Option(names = "--batch", defaultValue = "8", description = "Sequences per step (default: ${DEFAULT-VALUE}).") int batch;
    @Option(names = "--seq", defaultValue = "128", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).") int seq;
    @Option(names = "--rank", defaultValue = "64", description = "LoRA rank (default: ${DEFAULT-VALUE}).") int rank;
    @Option(names = "--bench-threads", defaultValue = "2", description = "Threads for both engines (default: ${DEFAULT-VALUE}).") int threads;
    @Option(names = "--steps", defaultValue = "10", description = "Timed steps per measurement (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--pairs", defaultValue = "5", description = "Interleaved ours/PyTorch pairs (default: ${DEFAULT-VALUE}).") int pairs;
    @Option(names = "--vs-pytorch", description = "Install Debian's python3-torch + OpenBLAS if needed and compare.") boolean vsPytorch;
    @Option(names = "--leak-steps", defaultValue = "0", description = "Also run this many steps and report RSS growth (default: ${DEFAULT-VALUE}).") int leakSteps;
    @Option(names = "--loss-chunk", defaultValue = "" + TrainConfig.Memory.LOSS_CHUNK, description = "Positions whose logits the loss forms at once (default: ${DEFAULT-VALUE}).") int lossChunk;
    @Option(names = "--checkpoint-activations", negatable = true, description = "Train with activation checkpointing (recompute each block in backward); "
            + "by default on only for a shape whose estimated peak exceeds physical memory without it and fits with it.") Boolean checkpointActivations;
    @Option(names = "--dtype", description = "Storage type of the generated checkpoint: f32 | f16 | bf16; ffwd holds f16/bf16 matrices at 2 bytes per value "
            + "(default: the released model's: f32 for pythia_70m and llama_small, f16 for pythia_1_4b, bf16 for qwen2_5_1_5b and llama3_8b).") String dtype;
    @Option(names = "--profile", description = "Also profile --steps training steps with libtorch's profiler: the time per step of matrix "
            + "products, softmax, loss, norms, activations, copies, element-wise ops, and what lies between the ops (the JVM, JNI, allocation).") boolean profile;
    @Option(names = "--smoke", description = "A tiny, fast run for CI (no timing claims).") boolean smoke;
    @Option(names = "--decode", description = "Time greedy decoding with the KV cache and with a full recompute per token, "
            + "instead of a training step.") boolean decode;
    @Option(names = "--decode-shape", defaultValue = "pythia_160m", description = "Model shape for --decode (default: ${DEFAULT-VALUE}).") String decodeShape;
    @Option(names = "--new-tokens", defaultValue = "256", description = "--decode: tokens to generate per run (default: ${DEFAULT-VALUE}).") int newTokens;
    @Option(names = "--prompt-tokens", defaultValue = "16", description = "--decode: prompt length (default: ${DEFAULT-VALUE}).") int promptTokens;
    @Option(names = "--repeats", defaultValue = "3", description = "--decode: timed runs of each mode, alternating (default: ${DEFAULT-VALUE}).") int repeats;
    @Option(names = "--json-out", paramLabel = "FILE", description = "--decode: also write the measurements as JSON.") Path jsonOut;
    @Option(names = "--json", description = "Print {\"shapes\": {name: {ratio_median, ours_peak_rss_mb, pytorch_peak_rss_mb, gflops, sgemm_share, ...}}} on stdout; the progress lines go to stderr.") boolean json;
    @Option(names = "--in-process", hidden = true, description = "Measure the shapes in this JVM (how each shape's own process runs).") boolean inProcess;
    @Option(names = "--sgemm", hidden = true, defaultValue = "NaN", description = "The parent's sgemm rate, GFLOP/s.") double sgemmGiven;
    @Option(names = "--result", hidden = true, description = "Where a shape's process writes its JSON result.") Path result;

    private PrintStream out;

    @Override
    public void run() {
        if (decode) {
            decode();
            return;
        }
        if (smoke) {
            batch = 2;
            seq = 16;
            steps = 2;
            pairs = 1;
            rank = 8;
        }
        out = json ? System.err : System.out;
        Main.threads(threads);
        try {
            if (inProcess) {
                ObjectNode r = JSON.createObjectNode();
                for (String s : shapes) r.set(s.trim().toLowerCase(), bench(Choice.of(BenchModel.class, s, "--shape"), Files.createTempDirectory("ffwd-bench"), sgemmGiven));
                if (result != null) AtomicFiles.writeString(result, JSON.writeValueAsString(r));
                return;
            }
            int n = smoke ? 256 : 1024;
            double sgemm = Benchmark.sgemmGflops(n, smoke ? 2 : 5);
            out.printf(Locale.ROOT, "engine sgemm (%d³, %d threads): %.1f GFLOP/s%n", n, threads, sgemm);
            if (vsPytorch) setupPytorch();
            Path work = Files.createTempDirectory("ffwd-bench");
            ObjectNode all = JSON.createObjectNode(), byShape = all.putObject("shapes");
            for (String s : shapes) {  // each shape in its own process: peak RSS is per process
                String name = s.trim().toLowerCase();
                BenchModel bm = Choice.of(BenchModel.class, name, "--shape");  // an unknown shape fails here, before a JVM starts
                boolean checkpoint = plan(bm);                              // or a shape that cannot fit
                bm.cached(SEED, storage(bm));                               // generated once, before the timed process
                Path res = work.resolve(name + ".json");
                // BF16 weights are converted into direct buffers (2 bytes per value), which the JVM caps at -Xmx by default
                List<String> jvm = List.of("-XX:MaxDirectMemorySize=" + MemoryEstimate.physicalBytes());
                ChildJvm.run("bench --shape " + name, Main.class.getName(), jvm, childArgs(name, sgemm, res, checkpoint, storage(bm)));
                byShape.set(name, JSON.readTree(res.toFile()).get(name));
            }
            if (json) System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(all));
        } catch (IOException e) {
            throw new FfwdException("bench: " + e.getMessage());
        }
    }

    private List<String> childArgs(String shape, double sgemm, Path res, boolean checkpoint, DType storage) {
        List<String> a = new ArrayList<>(List.of("bench", "--in-process", "--shape", shape, "--batch", "" + batch, "--seq", "" + seq,
                "--rank", "" + rank, "--bench-threads", "" + threads, "--steps", "" + steps, "--pairs", "" + pairs,
                "--leak-steps", "" + leakSteps, "--dtype", storage.name().toLowerCase(), "--loss-chunk", "" + lossChunk, "--sgemm", "" + sgemm, "--result", res.toString()));
        if (vsPytorch) a.add("--vs-pytorch");
        if (profile) a.add("--profile");
        a.add(checkpoint ? "--checkpoint-activations" : "--no-checkpoint-activations");
        if (json) a.add("--json");
        return a;
    }

    /** Times one shape (in this process) and returns its JSON summary; with --vs-pytorch, interleaved with the reference. */
    private ObjectNode bench(BenchModel bm, Path work, double sgemm) throws IOException {
        boolean checkpoint = plan(bm);
        Path dir = bm.cached(SEED, storage(bm)), batchJson = work.resolve("batch.json");
        int vocab = bm.config.vocabSize();
        long[][] ids = Benchmark.batch(batch, seq, vocab, 2, batchJson);
        out.printf(Locale.ROOT, "%n%s: batch %d x %d, LoRA r=%d on %s, %d threads%n", bm.name().toLowerCase(), batch, seq, rank, bm.targets, threads);
        boolean pytorchFits = vsPytorch && pytorchFits(bm);
        List<Double> ratios = new ArrayList<>(), gflops = new ArrayList<>(), tps = new ArrayList<>(), pyTps = new ArrayList<>();
        double pyPeak = Double.NaN;
        JsonNode profileJson = null;
        try (Benchmark.Session ours = new Benchmark.Session(dir, bm, ids, rank, 16, new TrainConfig.Memory(lossChunk, checkpoint))) {
            for (int p = 0; p < pairs; p++) {
                Benchmark.Result r = ours.time(steps);
                if (!Double.isFinite(r.loss())) throw new FfwdException("bench: non-finite loss " + r.loss());
                out.printf(Locale.ROOT, "  ffwd    %8.0f tok/s  %7.1f ms/step  %6.1f GFLOP/s (%.0f%% of sgemm)  loss %.5f  peak RSS %.0f MB%n",
                        r.tokensPerSecond(), r.stepMs(), r.gflops(), 100 * r.gflops() / sgemm, r.loss(), r.peakRssMb());
                gflops.add(r.gflops());
                tps.add(r.tokensPerSecond());
                if (pytorchFits) {
                    JsonNode py = pytorch(dir, batchJson, bm);
                    out.printf(Locale.ROOT, "  pytorch %8.0f tok/s  %7.1f ms/step  loss %.5f  peak RSS %.0f MB%n",
                            py.get("tokens_per_s").asDouble(), py.get("step_ms").asDouble(), py.get("loss").asDouble(), py.get("peak_rss_mb").asDouble());
                    if (Math.abs(py.get("loss").asDouble() - r.loss()) > 1e-3)
                        throw new FfwdException("bench: losses differ (ffwd " + r.loss() + ", pytorch " + py.get("loss").asDouble() + "): not the same work");
                    ratios.add(r.tokensPerSecond() / py.get("tokens_per_s").asDouble());
                    pyTps.add(py.get("tokens_per_s").asDouble());
                    pyPeak = Double.isNaN(pyPeak) ? py.get("peak_rss_mb").asDouble() : Math.max(pyPeak, py.get("peak_rss_mb").asDouble());
                }
            }
            if (!ratios.isEmpty()) {
                DecodeBench.Spread s = DecodeBench.Spread.of(ratios.stream().mapToDouble(Double::doubleValue).toArray());
                out.printf(Locale.ROOT, "  ratio ffwd/pytorch tokens/s over %d pairs: min %.3f  median %.3f  max %.3f%n",
                        ratios.size(), s.min(), s.median(), s.max());
            }
            if (leakSteps > 0) leakCheck(ours);
            if (profile) {
                StepProfile sp = ours.profile(steps, work.resolve("trace.json"));
                out.printf(Locale.ROOT, "%n  where one step's time goes (%d profiled steps):%n%n%s", steps, sp.table());
                profileJson = JSON.valueToTree(sp);
            }
        }
        double peak = Benchmark.peakRssMb();
        out.printf(Locale.ROOT, "  peak RSS of this shape's process: ffwd %.0f MB%s%n", peak,
                Double.isNaN(pyPeak) ? "" : String.format(Locale.ROOT, ", pytorch %.0f MB (%.2fx)", pyPeak, peak / pyPeak));
        ObjectNode r = JSON.createObjectNode();
        put(r, "ratio_median", Stats.median(ratios));
        put(r, "ratio_min", ratios.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN));
        put(r, "ratio_max", ratios.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
        put(r, "ours_peak_rss_mb", peak);
        put(r, "pytorch_peak_rss_mb", pyPeak);
        put(r, "gflops", Stats.median(gflops));
        put(r, "sgemm_share", Stats.median(gflops) / sgemm);
        put(r, "sgemm_gflops", sgemm);
        put(r, "tokens_per_s", Stats.median(tps));
        put(r, "pytorch_tokens_per_s", Stats.median(pyTps));
        if (profileJson != null) r.set("profile", profileJson);
        r.put("precision", "fp32")  // compute precision: every matmul runs in fp32 (2-byte weights are widened first)
                .put("dtype", storage(bm).name()).put("batch", batch).put("seq", seq).put("rank", rank).put("threads", threads).put("loss_chunk", lossChunk)
                .put("checkpoint_activations", checkpoint).put("pairs", ratios.size());
        return r;
    }

    /** The seed of every generated benchmark checkpoint. */
    private static final long SEED = 1;

    /**
     * Whether the step runs with activation checkpointing: as asked, or (not asked) only when the estimated peak exceeds
     * physical memory without it and fits with it. A shape that does not fit either way is refused here, in one line.
     */
    private boolean plan(BenchModel bm) {
        dev.ffwd.model.ModelConfig c = bm.config;
        dev.ffwd.lora.LoraConfig lc = new dev.ffwd.lora.LoraConfig(rank, 16, 0, bm.targets, false);
        long physical = MemoryEstimate.physicalBytes();
        MemoryEstimate plain = MemoryEstimate.of(c, storage(bm), lc, batch, seq, lossChunk, false);
        MemoryEstimate ckpt = MemoryEstimate.of(c, storage(bm), lc, batch, seq, lossChunk, true);
        boolean on = checkpointActivations != null ? checkpointActivations : plain.total() > physical && ckpt.total() <= physical;
        MemoryEstimate e = on ? ckpt : plain;
        if (!inProcess) out.printf(Locale.ROOT, "%s: estimated peak %s; physical memory %.1f GB%n", bm.name().toLowerCase(), e.describe(), physical / 1e9);
        if (e.total() > physical)
            throw new FfwdException(String.format(Locale.ROOT, "bench: %s needs an estimated %.1f GB%s, more than this machine's %.1f GB of memory",
                    bm.name().toLowerCase(), e.total() / 1e9, on ? " even with activation checkpointing" : " (try --checkpoint-activations)", physical / 1e9));
        if (on && checkpointActivations == null) out.printf(Locale.ROOT, "%s: activation checkpointing on (without it: %.1f GB)%n", bm.name().toLowerCase(), plain.total() / 1e9);
        return on;
    }

    /** Whether the PyTorch reference (fp32 weights, full logits) fits this machine; says so when it does not. */
    private boolean pytorchFits(BenchModel bm) {
        dev.ffwd.model.ModelConfig c = bm.config;
        long need = MemoryEstimate.pytorch(c, new dev.ffwd.lora.LoraConfig(rank, 16, 0, bm.targets, false), batch, seq).total();
        if (need <= MemoryEstimate.physicalBytes()) return true;
        out.printf(Locale.ROOT, "  pytorch skipped: it holds the weights in fp32 and needs an estimated %.1f GB, more than this machine's %.1f GB%n",
                need / 1e9, MemoryEstimate.physicalBytes() / 1e9);
        return false;
    }

    private DType storage(BenchModel bm) {
        if (dtype == null) return bm.dtype;
        return switch (dtype.trim().toLowerCase()) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new IllegalArgumentException("--dtype must be f32, f16 or bf16, got '" + dtype + "'");
        };
    }

    /** JSON has no NaN: an unmeasured value is null. */
    private static void put(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
        else o.putNull(key);
    }

    /**
     * Decoding speed on a seeded random checkpoint of {@code --decode-shape}, written to a temporary folder and removed
     * afterwards; prints a Markdown table of tokens/s (min / median / max over the repeats).
     */
    private void decode() {
        BenchModel shape = Choice.of(BenchModel.class, smoke ? "pythia_70m" : decodeShape, "--decode-shape");
        if (smoke) {
            newTokens = 4;
            repeats = 1;
        }
        Main.threads(threads);
        Path dir = null;
        try {
            dir = shape.writeInChildProcess(Files.createTempDirectory("ffwd-decode"), 1, DType.F32);
            DecodeBench.Result r = DecodeBench.run(dir, promptTokens, newTokens, repeats);
            DecodeBench.Spread cached = r.cachedTokensPerSecond(), full = r.recomputeTokensPerSecond();
            System.out.printf(Locale.ROOT, "%s shape (%d layers, d %d, vocab %d), prompt %d tokens, %d new tokens, greedy, %d threads, %d repeats%n%n",
                    shape.name().toLowerCase(Locale.ROOT), r.config().layers(), r.config().hidden(), r.config().vocabSize(),
                    promptTokens, newTokens, threads, repeats);
            System.out.println("| decoding | tokens/s min | median | max |");
            System.out.println("|---|---:|---:|---:|");
            System.out.printf(Locale.ROOT, "| KV cache | %.1f | %.1f | %.1f |%n", cached.min(), cached.median(), cached.max());
            System.out.printf(Locale.ROOT, "| full recompute | %.1f | %.1f | %.1f |%n", full.min(), full.median(), full.max());
            System.out.printf(Locale.ROOT, "%nspeed-up of the median: %.1fx%n", cached.median() / full.median());
            if (jsonOut != null) AtomicFiles.writeString(jsonOut, decodeJson(shape, r) + "\n");
        } catch (IOException e) {
            throw new FfwdException("bench: " + e.getMessage());
        } finally {
            if (dir != null) deleteTree(dir);
        }
    }

    private String decodeJson(BenchModel shape, DecodeBench.Result r) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode().put("shape", shape.name().toLowerCase(Locale.ROOT)).put("layers", r.config().layers())
                .put("hidden", r.config().hidden()).put("vocab", r.config().vocabSize()).put("prompt_tokens", r.promptTokens())
                .put("new_tokens", r.newTokens()).put("threads", threads).put("repeats", repeats);
        Arrays.stream(r.cachedSeconds()).forEach(o.putArray("cached_seconds")::add);
        Arrays.stream(r.recomputeSeconds()).forEach(o.putArray("recompute_seconds")::add);
        for (Map.Entry<String, DecodeBench.Spread> e : Map.of("cached_tokens_per_s", r.cachedTokensPerSecond(), "recompute_tokens_per_s", r.recomputeTokensPerSecond()).entrySet())
            o.putObject(e.getKey()).put("min", e.getValue().min()).put("median", e.getValue().median()).put("max", e.getValue().max());
        return o.toPrettyString();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            System.err.println("bench: could not remove " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Native-memory growth over {@code leakSteps} steps after a warm-up of a tenth as many. The Java heap is collected
     * before each reading, so direct buffers awaiting collection do not count; more than 5% growth fails the command.
     */
    private void leakCheck(Benchmark.Session ours) {
        ours.time(Math.max(1, leakSteps / 10));
        double early = Benchmark.settledRssMb();
        ours.time(leakSteps);
        double late = Benchmark.settledRssMb(), growth = 100 * (late / early - 1);
        out.printf(Locale.ROOT, "  RSS after warm-up: %.0f MB; after %d more steps: %.0f MB (growth %.1f%%)%n", early, leakSteps, late, growth);
        if (growth > 5) throw new FfwdException("bench: resident memory grew " + String.format(Locale.ROOT, "%.1f%%", growth) + " over " + leakSteps + " steps");
    }

    private JsonNode pytorch(Path dir, Path batchJson, BenchModel bm) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script("pytorch_reference.py").toString(), dir.toString(),
                batchJson.toString(), "--steps", String.valueOf(steps), "--threads", String.valueOf(threads),
                "--rank", String.valueOf(rank), "--alpha", "16", "--targets", String.join(",", bm.targets)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("OMP_NUM_THREADS", String.valueOf(threads));
        pb.environment().put("OPENBLAS_NUM_THREADS", String.valueOf(threads));
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

    private static void setupPytorch() {
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
