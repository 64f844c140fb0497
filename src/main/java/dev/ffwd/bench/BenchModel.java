package dev.ffwd.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Benchmark shapes with seeded random weights, written as ordinary HF folders (so the PyTorch reference reads the same). */
public enum BenchModel {
    /** Pythia-70m's shape: 6 layers, d 512, 8 heads, vocab 50304, rotary 25%, parallel residual. */
    PYTHIA_70M("""
            {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 512, "num_attention_heads": 8,
             "num_hidden_layers": 6, "intermediate_size": 2048, "rotary_pct": 0.25, "rotary_emb_base": 10000,
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
     * Writes the model in a child JVM, so that generating the weights on the heap does not count towards the
     * benchmark process's peak memory; the benchmark then memory-maps the file, as for a real checkpoint.
     */
    public Path writeInChildProcess(Path dir, long seed) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), BenchModel.class.getName(),
                name(), dir.toString(), Long.toString(seed)).inheritIO().start();
        try {
            if (p.waitFor() != 0) throw new IOException("generating the " + name() + " weights failed (exit " + p.exitValue() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        return dir;
    }

    /** Child-process entry point: SHAPE DIR SEED. */
    public static void main(String[] args) throws IOException {
        valueOf(args[0]).write(Path.of(args[1]), Long.parseLong(args[2]));
    }

    /** Writes config.json and model.safetensors (N(0, 0.02) weights, unit norms) into {@code dir}. */
    public Path write(Path dir, long seed) throws IOException {
        ModelConfig c = ModelConfig.parse(dir.resolve("config.json"), new ObjectMapper().readTree(configJson));
        Random r = new Random(seed);
        List<RawTensor> ts = new ArrayList<>();
        for (Map.Entry<String, long[]> e : shapes(c).entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            float[] v = new float[(int) n];
            boolean norm = e.getKey().contains("norm") || e.getKey().contains("layernorm");
            boolean bias = e.getKey().endsWith(".bias");
            for (int i = 0; i < v.length; i++) v[i] = norm && !bias ? 1f : bias ? 0f : (float) (r.nextGaussian() * 0.02);
            ts.add(RawTensor.ofFloats(e.getKey(), e.getValue(), v));
        }
        AtomicFiles.writeString(dir.resolve("config.json"), configJson);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), ts, Map.of("format", "pt"));
        return dir;
    }

    private static Map<String, long[]> shapes(ModelConfig c) {
        Map<String, long[]> s = new LinkedHashMap<>();
        long d = c.hidden(), f = c.intermediate(), v = c.vocabSize(), q = (long) c.heads() * c.headDim(), kv = (long) c.kvHeads() * c.headDim();
        if (c.arch() == dev.ffwd.model.Arch.GPT_NEOX) {
            s.put("gpt_neox.embed_in.weight", new long[]{v, d});
            for (int i = 0; i < c.layers(); i++) {
                String p = "gpt_neox.layers." + i + ".";
                for (String ln : new String[]{"input_layernorm", "post_attention_layernorm"}) {
                    s.put(p + ln + ".weight", new long[]{d});
                    s.put(p + ln + ".bias", new long[]{d});
                }
                linear(s, p + "attention.query_key_value", 3 * q, d, true);
                linear(s, p + "attention.dense", d, q, true);
                linear(s, p + "mlp.dense_h_to_4h", f, d, true);
                linear(s, p + "mlp.dense_4h_to_h", d, f, true);
            }
            s.put("gpt_neox.final_layer_norm.weight", new long[]{d});
            s.put("gpt_neox.final_layer_norm.bias", new long[]{d});
            s.put("embed_out.weight", new long[]{v, d});
        } else {
            s.put("model.embed_tokens.weight", new long[]{v, d});
            for (int i = 0; i < c.layers(); i++) {
                String p = "model.layers." + i + ".";
                s.put(p + "input_layernorm.weight", new long[]{d});
                s.put(p + "post_attention_layernorm.weight", new long[]{d});
                linear(s, p + "self_attn.q_proj", q, d, false);
                linear(s, p + "self_attn.k_proj", kv, d, false);
                linear(s, p + "self_attn.v_proj", kv, d, false);
                linear(s, p + "self_attn.o_proj", d, q, false);
                linear(s, p + "mlp.gate_proj", f, d, false);
                linear(s, p + "mlp.up_proj", f, d, false);
                linear(s, p + "mlp.down_proj", d, f, false);
            }
            s.put("model.norm.weight", new long[]{d});
            s.put("lm_head.weight", new long[]{v, d});
        }
        return s;
    }

    private static void linear(Map<String, long[]> s, String name, long out, long in, boolean bias) {
        s.put(name + ".weight", new long[]{out, in});
        if (bias) s.put(name + ".bias", new long[]{out});
    }
}
