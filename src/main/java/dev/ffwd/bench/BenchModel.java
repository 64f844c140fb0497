package dev.ffwd.bench;

import dev.ffwd.io.DType;
import dev.ffwd.model.RandomCheckpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Benchmark shapes with seeded random weights, written as ordinary HF folders (so the PyTorch reference reads the same). */
public enum BenchModel {
    /** Pythia-70m's shape: 6 layers, d 512, 8 heads, vocab 50304, rotary 25%, parallel residual. */
    PYTHIA_70M("""
            {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 512, "num_attention_heads": 8,
             "num_hidden_layers": 6, "intermediate_size": 2048, "rotary_pct": 0.25, "rotary_emb_base": 10000,
             "layer_norm_eps": 1e-5, "use_parallel_residual": true, "hidden_act": "gelu", "max_position_embeddings": 2048,
             "tie_word_embeddings": false}""", List.of("query_key_value")),
    /** Pythia-160m's shape: 12 layers, d 768, 12 heads, vocab 50304, rotary 25%, parallel residual (decoding speed). */
    PYTHIA_160M("""
            {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 768, "num_attention_heads": 12,
             "num_hidden_layers": 12, "intermediate_size": 3072, "rotary_pct": 0.25, "rotary_emb_base": 10000,
             "layer_norm_eps": 1e-5, "use_parallel_residual": true, "hidden_act": "gelu", "max_position_embeddings": 2048,
             "tie_word_embeddings": false}""", List.of("query_key_value")),
    /**
     * Pythia-1.4b's shape: 24 layers, d 2048, 16 heads, vocab 50304, rotary 25%, parallel residual. Used for estimates
     * on paper (communication, FLOPs); writing its weights would take 5.6 GB.
     */
    PYTHIA_1_4B("""
            {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 2048, "num_attention_heads": 16,
             "num_hidden_layers": 24, "intermediate_size": 8192, "rotary_pct": 0.25, "rotary_emb_base": 10000,
             "layer_norm_eps": 1e-5, "use_parallel_residual": true, "hidden_act": "gelu", "max_position_embeddings": 2048,
             "tie_word_embeddings": false}""", List.of("query_key_value")),
    /** A small Llama: 4 layers, d 512, 8 heads (4 KV), SwiGLU 1408, vocab 32000. */
    LLAMA_SMALL("""
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 512, "num_attention_heads": 8, "num_key_value_heads": 4,
             "num_hidden_layers": 4, "intermediate_size": 1408, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "hidden_act": "silu", "max_position_embeddings": 2048, "tie_word_embeddings": false}""",
            List.of("q_proj", "k_proj", "v_proj", "o_proj"));

    public final String configJson;
    public final List<String> targets;

    BenchModel(String configJson, List<String> targets) {
        this.configJson = configJson;
        this.targets = targets;
    }

    /**
     * Writes the model ({@code dtype}: F32, F16 or BF16) in a child JVM, so that generating the weights on the heap does not count towards the
     * benchmark process's peak memory; the benchmark then memory-maps the file, as for a real checkpoint.
     */
    public Path writeInChildProcess(Path dir, long seed, DType dtype) throws IOException {
        ChildJvm.run("generating the " + name() + " weights", BenchModel.class.getName(), List.of(name(), dir.toString(), Long.toString(seed), dtype.name()));
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
