package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.bench.BenchModel;
import dev.ffwd.bench.DecodeBench;
import dev.ffwd.bench.LlamaCppDecodeBench;
import dev.ffwd.bench.LlamaCppRunner;
import dev.ffwd.bench.MemoryEstimate;
import dev.ffwd.bench.StepBench;
import dev.ffwd.bench.StepProfile;
import dev.ffwd.gguf.GgufWriter;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.DType;
import dev.ffwd.model.Precision;
import dev.ffwd.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
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
        + "or (--decode) greedy decoding with and without the KV cache, or (--decode --vs-llamacpp) against llama.cpp.")
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
    @Option(names = "--pairs", defaultValue = "5", description = "Interleaved ours/PyTorch pairs, or ours/llama.cpp pairs with --vs-llamacpp (default: ${DEFAULT-VALUE}).") int pairs;
    @Option(names = "--vs-pytorch", description = "Install Debian's python3-torch + OpenBLAS if needed and compare.") boolean vsPytorch;
    @Option(names = "--leak-steps", defaultValue = "0", description = "Also run this many steps, after a warm-up, and fail if resident memory grows more than 5%% over their second half (default: ${DEFAULT-VALUE}).") int leakSteps;
    @Option(names = "--loss-chunk", defaultValue = "" + TrainConfig.Memory.LOSS_CHUNK, description = "Positions whose logits the loss forms at once (default: ${DEFAULT-VALUE}).") int lossChunk;
    @Option(names = "--checkpoint-activations", negatable = true, description = "Train with activation checkpointing (recompute each block in backward); "
            + "by default on only for a shape whose estimated peak exceeds physical memory without it and fits with it.") Boolean checkpointActivations;
    @Option(names = "--dtype", description = "Storage type of the generated checkpoint: f32 | f16 | bf16; ffwd holds f16/bf16 matrices at 2 bytes per value "
            + "(default: the released model's: f32 for pythia_70m and llama_small, f16 for pythia_1_4b, bf16 for qwen2_5_1_5b and llama3_8b).") String dtype;
    @Option(names = "--precision", paramLabel = "fp32|bf16|auto|both", description = "What the frozen matrix products compute in "
            + "(see train --precision); both: bf16, each timing followed by the same steps in fp32 on a second copy of the model "
            + "in the same process, for the bf16 speed-up (default: ${DEFAULT-VALUE}).") String precision = Precision.DEFAULT.label();
    @Option(names = "--profile", description = "Also profile --steps training steps (--decode: --new-tokens cached tokens) with libtorch's profiler: "
            + "the time per step (token) of matrix products, softmax, loss, norms, activations, copies, element-wise ops, and what lies between "
            + "the ops (the JVM, JNI, allocation).") boolean profile;
    @Option(names = "--smoke", description = "A tiny, fast run for CI (no timing claims).") boolean smoke;
    @Option(names = "--decode", description = "Time greedy decoding with the KV cache and with a full recompute per token, "
            + "instead of a training step.") boolean decode;
    @Option(names = "--decode-shape", defaultValue = "pythia_160m", description = "Model shape for --decode (default: ${DEFAULT-VALUE}).") String decodeShape;
    @Option(names = "--new-tokens", defaultValue = "256", description = "--decode: tokens to generate per run (default: ${DEFAULT-VALUE}).") int newTokens;
    @Option(names = "--prompt-tokens", defaultValue = "16", description = "--decode: prompt length (default: ${DEFAULT-VALUE}).") int promptTokens;
    @Option(names = "--repeats", defaultValue = "3", description = "--decode: timed runs of each mode, alternating (default: ${DEFAULT-VALUE}).") int repeats;
    @Option(names = "--vs-llamacpp", description = "--decode: instead of the recompute mode, time llama.cpp (node-llama-cpp " + LlamaCppRunner.VERSION
            + ", installed from npm on first use under $FFWD_HOME) on the full-model GGUF export of the same weights, F32 (and F16 for a shape "
            + "stored F16 or --dtype f16), with the same prompt, new tokens and threads, in --pairs interleaved pairs.") boolean vsLlamaCpp;
    @Option(names = "--json-out", paramLabel = "FILE", description = "--decode: also write the measurements as JSON.") Path jsonOut;
    @Option(names = "--json", description = "Print {\"shapes\": {name: {ratio_median, ours_peak_rss_mb, pytorch_peak_rss_mb, gflops, sgemm_share_median, ...}}} on stdout "
            + "(--decode: the measurements, as --json-out writes them); the progress lines and tables go to stderr.") boolean json;

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
            out.printf("tensors of 2 MB or more on huge pages: %s%n", dev.ffwd.EngineEnv.hugePages() ? "yes"
                    : "no (" + dev.ffwd.EngineEnv.THP + " is not 1; the ffwd launcher sets it)");
            out.printf("malloc: %s%n", dev.ffwd.EngineEnv.allocator());
            Long mmap = dev.ffwd.EngineEnv.mmapThreshold();
            out.printf("blocks malloc maps on their own, and returns when freed: %s%n", mmap != null ? "from " + mmap + " bytes"
                    : "from glibc's own threshold, which rises to 32 MB (" + dev.ffwd.EngineEnv.MMAP_THRESHOLD + " unset)");
            Long arenas = dev.ffwd.EngineEnv.arenas();
            out.printf("malloc arenas: %s%n", arenas != null ? "at most " + arenas
                    : "glibc's own limit, 8 per core (" + dev.ffwd.EngineEnv.ARENAS + " unset; the ffwd launcher sets " + dev.ffwd.EngineEnv.DEFAULT_ARENAS + ")");
            if (vsPytorch) StepBench.setupPytorch();
            Path work = Files.createTempDirectory("ffwd-bench");
            ObjectNode all = JSON.createObjectNode(), byShape = all.putObject("shapes");
            for (String s : shapes) {  // each shape in its own process: peak RSS is per process
                String name = s.trim().toLowerCase();
                BenchModel bm = Choice.of(BenchModel.class, name, "--shape");  // an unknown shape fails here, before a JVM starts
                DType storage = storage(bm);                                // or a shape that cannot fit
                boolean recompute = StepBench.checkpointing(bm, rank, batch, seq, lossChunk, storage, checkpointActivations, out);
                Path checkpoint = bm.cached(StepBench.SEED, storage);       // generated once, before the timed process
                // BF16 weights are converted into direct buffers (2 bytes per value), which the JVM caps at -Xmx by default
                List<String> jvm = List.of("-XX:MaxDirectMemorySize=" + MemoryEstimate.physicalBytes());
                boolean both = precision.trim().equalsIgnoreCase("both");
                byShape.set(name, StepBench.inChildJvm(new StepBench.Spec(bm, checkpoint, batch, seq, rank, threads, steps, pairs, leakSteps, storage,
                        both ? Precision.BF16 : Precision.parse(precision), both, lossChunk, recompute, vsPytorch, profile, json), work, jvm));
            }
            if (json) System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(all));
        } catch (IOException e) {
            throw new FfwdException("bench: " + e.getMessage());
        }
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

    /**
     * Decoding speed on a seeded random checkpoint of {@code --decode-shape}, written to a temporary folder and removed
     * afterwards; prints a Markdown table of tokens/s (min / median / max over the repeats, or the pairs).
     */
    private void decode() {
        BenchModel shape = Choice.of(BenchModel.class, smoke ? "pythia_70m" : decodeShape, "--decode-shape");
        if (smoke) {
            newTokens = 4;
            repeats = 1;
            pairs = 1;
        }
        if (profile && vsLlamaCpp)
            throw new IllegalArgumentException("--profile profiles ffwd's own decoding; run it without --vs-llamacpp");
        out = json ? System.err : System.out;
        Main.threads(threads);
        Path dir = null;
        try {
            dir = Files.createTempDirectory("ffwd-decode");
            ObjectNode o = vsLlamaCpp ? decodeVsLlamaCpp(shape, dir) : decode(shape, dir);
            if (json) System.out.println(o.toPrettyString());
            if (jsonOut != null) AtomicFiles.writeString(jsonOut, o.toPrettyString() + "\n");
        } catch (IOException e) {
            throw new FfwdException("bench: " + e.getMessage());
        } finally {
            if (dir != null) deleteTree(dir);
        }
    }

    private ObjectNode decode(BenchModel shape, Path dir) throws IOException {
        Path model = shape.writeInChildProcess(dir, 1, DType.F32);
        DecodeBench.Result r = DecodeBench.run(model, promptTokens, newTokens, repeats);
        DecodeBench.Spread cached = r.cachedTokensPerSecond(), full = r.recomputeTokensPerSecond();
        out.printf(Locale.ROOT, "%s, %d repeats%n%n", decodeHeader(shape), repeats);
        out.println("| decoding | tokens/s min | median | max |");
        out.println("|---|---:|---:|---:|");
        out.printf(Locale.ROOT, "| KV cache | %.1f | %.1f | %.1f |%n", cached.min(), cached.median(), cached.max());
        out.printf(Locale.ROOT, "| full recompute | %.1f | %.1f | %.1f |%n", full.min(), full.median(), full.max());
        out.printf(Locale.ROOT, "%nspeed-up of the median: %.1fx%n", cached.median() / full.median());
        ObjectNode o = decodeJson(shape, r);
        if (profile) {
            StepProfile sp = DecodeBench.profile(model, promptTokens, newTokens, dir.resolve("trace.json"));
            out.printf(Locale.ROOT, "%nwhere one cached token's time goes (%d tokens profiled, the prompt's pass among them):%n%n%s", newTokens, sp.table("token"));
            o.set("profile", JSON.valueToTree(sp));
        }
        return o;
    }

    /**
     * ffwd's KV-cache decoding against llama.cpp: each storage type's checkpoint written, exported with the full-model
     * GGUF export and timed in turn (node-llama-cpp installed first, so that a missing node or npm fails before any work).
     */
    private ObjectNode decodeVsLlamaCpp(BenchModel shape, Path dir) throws IOException {
        DType extra = storage(shape);  // before the install: a bad --dtype fails first
        Path modules = LlamaCppRunner.install(LlamaCppRunner.defaultHome());
        if (extra == DType.BF16) out.println("note: the GGUF export writes F32 and F16 only, so there is no BF16 comparison\n");
        List<GgufWriter.TensorType> types = extra == DType.F16 ? List.of(GgufWriter.TensorType.F32, GgufWriter.TensorType.F16) : List.of(GgufWriter.TensorType.F32);
        ObjectNode o = JSON.createObjectNode().put("shape", shape.name().toLowerCase(Locale.ROOT)).put("layers", shape.config.layers())
                .put("hidden", shape.config.hidden()).put("vocab", shape.config.vocabSize()).put("prompt_tokens", promptTokens)
                .put("new_tokens", newTokens).put("threads", threads).put("pairs", pairs).put("llamacpp", "node-llama-cpp " + LlamaCppRunner.VERSION);
        ArrayNode runs = o.putArray("vs_llamacpp");
        out.printf(Locale.ROOT, "%s, %d interleaved pairs, against llama.cpp (node-llama-cpp %s)%n%n", decodeHeader(shape), pairs, LlamaCppRunner.VERSION);
        out.println("| weights | llama.cpp KV cache | ffwd tokens/s min / median / max | llama.cpp tokens/s min / median / max "
                + "| ratio min / median / max | prompt ms ffwd / llama.cpp (median) | check |");
        out.println("|---|---|---:|---:|---:|---:|---|");
        for (GgufWriter.TensorType type : types) {
            Path model = shape.writeInChildProcess(dir.resolve(type.name().toLowerCase(Locale.ROOT)), 1, DType.valueOf(type.name()));
            LlamaCppDecodeBench.Result r = LlamaCppDecodeBench.run(modules, model, LlamaCppDecodeBench.export(model, type), type, promptTokens, newTokens, pairs);
            deleteTree(model);  // before the next type's checkpoint: a large shape's copies need not all fit at once
            DecodeBench.Spread ours = r.oursTokensPerSecond(), theirs = r.llamaTokensPerSecond(), ratio = r.ratio();
            LlamaCppDecodeBench.Check c = r.check();
            out.printf(Locale.ROOT, "| %s | %s | %.1f / %.1f / %.1f | %.1f / %.1f / %.1f | %.2f / %.2f / %.2f | %.1f / %.1f | %s |%n", type, r.json().get("kv_cache").asText(),
                    ours.min(), ours.median(), ours.max(), theirs.min(), theirs.median(), theirs.max(), ratio.min(), ratio.median(), ratio.max(),
                    1000 * dev.ffwd.Stats.median(r.oursPromptSeconds()), 1000 * dev.ffwd.Stats.median(r.llamaPromptSeconds()),
                    c.leadingEqual() == c.compared() ? "first " + c.compared() + " greedy tokens equal"
                            : String.format(Locale.ROOT, "%d of the first %d greedy tokens equal (near-tie); first token's log-probs within %.1e",
                            c.leadingEqual(), c.compared(), c.firstLogprobDiff()));
            runs.add(r.json());
        }
        out.println("\nratio: ffwd's tokens/s over llama.cpp's, pair by pair. tokens/s: new tokens over the time of the prompt's pass and the "
                + "one-token passes after it; prompt ms: the prompt's pass alone, giving the first token");
        return o;
    }

    private String decodeHeader(BenchModel shape) {
        return String.format(Locale.ROOT, "%s shape (%d layers, d %d, vocab %d), prompt %d tokens, %d new tokens, greedy, batch 1, %d threads",
                shape.name().toLowerCase(Locale.ROOT), shape.config.layers(), shape.config.hidden(), shape.config.vocabSize(), promptTokens, newTokens, threads);
    }

    private ObjectNode decodeJson(BenchModel shape, DecodeBench.Result r) {
        ObjectNode o = JSON.createObjectNode().put("shape", shape.name().toLowerCase(Locale.ROOT)).put("layers", r.config().layers())
                .put("hidden", r.config().hidden()).put("vocab", r.config().vocabSize()).put("prompt_tokens", r.promptTokens())
                .put("new_tokens", r.newTokens()).put("threads", threads).put("repeats", repeats);
        Arrays.stream(r.cachedSeconds()).forEach(o.putArray("cached_seconds")::add);
        Arrays.stream(r.recomputeSeconds()).forEach(o.putArray("recompute_seconds")::add);
        for (Map.Entry<String, DecodeBench.Spread> e : Map.of("cached_tokens_per_s", r.cachedTokensPerSecond(), "recompute_tokens_per_s", r.recomputeTokensPerSecond()).entrySet())
            o.putObject(e.getKey()).put("min", e.getValue().min()).put("median", e.getValue().median()).put("max", e.getValue().max());
        return o;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            System.err.println("bench: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
