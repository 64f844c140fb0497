package dev.ffwd.bench;

import dev.ffwd.ChildJvm;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.DType;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.RandomCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Benchmark shapes with seeded random weights, written as ordinary HF folders (so the PyTorch reference reads the same). */
public enum BenchModel {
    /**
     * The demo's model, all-MiniLM-L6-v2 (BERT: 6 layers, d 384, 12 heads, vocab 30522), with the demo's two-class
     * head; the demo's step is {@code --batch 16 --seq 64 --rank 8}.
     */
    MINILM_DEMO(dev.ffwd.io.BuiltinModel.configJson(), DType.F32, 2),
    /** Pythia-70m's shape: 6 layers, d 512, 8 heads, vocab 50304, rotary 25%, parallel residual. */
    PYTHIA_70M(pythia(512, 8, 6, 2048), DType.F32, 0),
    /** Pythia-160m's shape: 12 layers, d 768, 12 heads, vocab 50304, rotary 25%, parallel residual (decoding speed). */
    PYTHIA_160M(pythia(768, 12, 12, 3072), DType.F32, 0),
    /** Pythia-410m's shape: 24 layers, d 1024, 16 heads, vocab 50304, rotary 25%, parallel residual; F16 as released. */
    PYTHIA_410M(pythia(1024, 16, 24, 4096), DType.F16, 0),
    /**
     * Pythia-1.4b's shape: 24 layers, d 2048, 16 heads, vocab 50304, rotary 25%, parallel residual; F16 as the released
     * checkpoint (2.8 GB; 5.6 GB in F32). Also used for estimates on paper (communication, FLOPs).
     */
    PYTHIA_1_4B(pythia(2048, 16, 24, 8192), DType.F16, 0),
    /** A small Llama: 4 layers, d 512, 8 heads (4 KV), SwiGLU 1408, vocab 32000. */
    LLAMA_SMALL("""
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 512, "num_attention_heads": 8, "num_key_value_heads": 4,
             "num_hidden_layers": 4, "intermediate_size": 1408, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "hidden_act": "silu", "max_position_embeddings": 2048, "tie_word_embeddings": false}""", DType.F32, 0),
    /**
     * Qwen2.5-0.5B's shape: 24 layers, d 896, 14 heads (2 KV), SwiGLU 4864, vocab 151936, q/k/v biases, tied head,
     * rope_theta 1e6; BF16 as released.
     */
    QWEN2_5_0_5B("""
            {"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "num_attention_heads": 14, "num_key_value_heads": 2,
             "num_hidden_layers": 24, "intermediate_size": 4864, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "hidden_act": "silu", "max_position_embeddings": 32768, "tie_word_embeddings": true, "use_sliding_window": false}""", DType.BF16, 0),
    /**
     * Qwen2.5-1.5B's shape: 28 layers, d 1536, 12 heads (2 KV), SwiGLU 8960, vocab 151936, q/k/v biases, tied head,
     * rope_theta 1e6; BF16 as released (3.1 GB).
     */
    QWEN2_5_1_5B("""
            {"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 1536, "num_attention_heads": 12, "num_key_value_heads": 2,
             "num_hidden_layers": 28, "intermediate_size": 8960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "hidden_act": "silu", "max_position_embeddings": 32768, "tie_word_embeddings": true, "use_sliding_window": false}""", DType.BF16, 0),
    /**
     * Llama-3-8B's shape: 32 layers, d 4096, 32 heads (8 KV), SwiGLU 14336, vocab 128256, rope_theta 500000, untied head;
     * BF16 as released (16.1 GB).
     */
    LLAMA3_8B("""
            {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
             "num_hidden_layers": 32, "intermediate_size": 14336, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
             "hidden_act": "silu", "max_position_embeddings": 8192, "tie_word_embeddings": false}""", DType.BF16, 0);

    /** A Pythia (GPT-NeoX) shape as released: vocab 50304, rotary 25%, parallel residual, exact GELU, untied head. */
    private static String pythia(int hidden, int heads, int layers, int intermediate) {
        return """
                {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": %d, "num_attention_heads": %d,
                 "num_hidden_layers": %d, "intermediate_size": %d, "rotary_pct": 0.25, "rotary_emb_base": 10000,
                 "layer_norm_eps": 1e-5, "use_parallel_residual": true, "hidden_act": "gelu", "max_position_embeddings": 2048,
                 "tie_word_embeddings": false}""".formatted(hidden, heads, layers, intermediate);
    }

    /** The generator's heap: values are streamed, so it needs one chunk, whatever the model's size. */
    static final String GENERATOR_HEAP = "-Xmx256m";
    /** Room left beside a generated checkpoint on its file system. */
    static final long DISK_MARGIN = 256L << 20;

    public final String configJson;
    /** The shape as ffwd reads it (errors name "{shape}/config.json"). */
    public final ModelConfig config;
    /** The LoRA targets benchmarked: the family's defaults. */
    public final List<String> targets;
    /** The storage type of the released checkpoint this shape stands for (the bench's default). */
    public final DType dtype;
    /** The classes of the classification head trained with the adapters; 0: the family's language-model loss. */
    public final int labels;

    BenchModel(String configJson, DType dtype, int labels) {
        this.configJson = configJson;
        this.config = parse(name().toLowerCase(), configJson);
        this.targets = config.arch().defaultTargets();
        this.dtype = dtype;
        this.labels = labels;
    }

    private static ModelConfig parse(String shape, String configJson) {
        try {
            return ModelConfig.parse(Path.of(shape, "config.json"), new ObjectMapper().readTree(configJson));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(shape + ": " + e.getMessage());
        }
    }

    /**
     * The generated folder of this shape with {@code seed} and {@code dtype} under {@code $FFWD_HOME/bench}, written
     * (in a child JVM with a small heap) unless a complete one is there: model.safetensors appears last, atomically,
     * and config.json must be this shape's. Fails with one line before writing when its file system has too little room.
     */
    public Path cached(long seed, DType dtype) throws IOException {
        return cached(dev.ffwd.io.BuiltinModel.home().resolve("bench"), seed, dtype);
    }

    /** As {@link #cached(long, DType)}, under {@code root} instead of $FFWD_HOME/bench. */
    public Path cached(Path root, long seed, DType dtype) throws IOException {
        Path dir = root.resolve(name().toLowerCase() + "-" + dtype.name().toLowerCase() + "-" + seed);
        Path model = dir.resolve("model.safetensors"), config = dir.resolve("config.json");
        if (Files.isRegularFile(model) && Files.isRegularFile(config) && Files.readString(config).equals(configJson)) return dir;
        Files.createDirectories(dir);
        dev.ffwd.io.AtomicFiles.removeStale(model);  // a generator killed mid-write
        long need = RandomCheckpoint.fileBytes(configJson, dtype) + DISK_MARGIN, free = Files.getFileStore(dir).getUsableSpace();
        if (free < need)
            throw new dev.ffwd.FfwdException(String.format(java.util.Locale.ROOT, "bench: %s (%s) needs %.1f GB free in %s to generate its weights, "
                    + "%.1f GB are free; set FFWD_HOME to a larger disk", name().toLowerCase(), dtype, need / 1e9, dir, free / 1e9));
        return writeInChildProcess(dir, seed, dtype);
    }

    /**
     * Writes the model ({@code dtype}: F32, F16 or BF16) in a child JVM, so that generating the weights on the heap does not count towards the
     * benchmark process's peak memory; the benchmark then memory-maps the file, as for a real checkpoint.
     */
    public Path writeInChildProcess(Path dir, long seed, DType dtype) throws IOException {
        ChildJvm.run("generating the " + name() + " weights", BenchModel.class.getName(), List.of(GENERATOR_HEAP),
                List.of(name(), dir.toString(), Long.toString(seed), dtype.name()));
        return dir;
    }

    /** Child-process entry point: SHAPE DIR SEED DTYPE. */
    public static void main(String[] args) throws IOException {
        RandomCheckpoint.write(Path.of(args[1]), valueOf(args[0]).configJson, Long.parseLong(args[2]), DType.valueOf(args[3]));
    }

    /** Writes config.json and model.safetensors (the family's layout: N(0, 0.02) weights, unit norms, zero biases) into {@code dir}. */
    public Path write(Path dir, long seed) throws IOException {
        return RandomCheckpoint.write(dir, configJson, seed);
    }
}
