package dev.ffwd.gguf;

import dev.ffwd.TinyModels;
import dev.ffwd.cli.Main;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.*;

/**
 * export-gguf --full without llama.cpp: the file read back by the independent parser ({@link GgufFile}) against
 * llama.cpp's names and keys written out here by hand (gguf-py's tensor_mapping and constants), and every value
 * against the checkpoint, transformed as llama.cpp's convert_hf_to_gguf.py transforms it. {@link LlamaCppGgufTest}
 * runs the same files in llama.cpp.
 */
class GgufModelExportTest {

    @TempDir Path tmp;

    /** HF module → llama.cpp tensor, over all eight families: globals by full path, block modules by their path in the block. */
    static final Map<String, String> NAMES = Map.ofEntries(
            entry("model.embed_tokens", "token_embd"), entry("model.norm", "output_norm"), entry("lm_head", "output"),
            entry("gpt_neox.embed_in", "token_embd"), entry("gpt_neox.final_layer_norm", "output_norm"), entry("embed_out", "output"),
            entry("transformer.wte", "token_embd"), entry("transformer.wpe", "position_embd"), entry("transformer.ln_f", "output_norm"),
            entry("input_layernorm", "attn_norm"), entry("post_attention_layernorm", "ffn_norm"),
            entry("self_attn.q_proj", "attn_q"), entry("self_attn.k_proj", "attn_k"), entry("self_attn.v_proj", "attn_v"),
            entry("self_attn.o_proj", "attn_output"), entry("self_attn.q_norm", "attn_q_norm"), entry("self_attn.k_norm", "attn_k_norm"),
            entry("mlp.gate_proj", "ffn_gate"), entry("mlp.up_proj", "ffn_up"), entry("mlp.down_proj", "ffn_down"),
            entry("self_attn.qkv_proj", "attn_qkv"), entry("mlp.gate_up_proj", "ffn_up"),
            entry("attention.query_key_value", "attn_qkv"), entry("attention.dense", "attn_output"),
            entry("mlp.dense_h_to_4h", "ffn_up"), entry("mlp.dense_4h_to_h", "ffn_down"),
            entry("ln_1", "attn_norm"), entry("ln_2", "ffn_norm"), entry("attn.c_attn", "attn_qkv"), entry("attn.c_proj", "attn_output"),
            entry("mlp.c_fc", "ffn_up"), entry("mlp.c_proj", "ffn_down"));

    /** llama.cpp's architecture names (gguf-py MODEL_ARCH_NAMES). */
    static final Map<String, String> ARCH = Map.of("tiny-llama", "llama", "tiny-mistral", "llama", "tiny-qwen2", "qwen2", "tiny-qwen3", "qwen3",
            "tiny-gemma", "gemma", "tiny-phi3", "phi3", "tiny-gpt-neox", "gptneox", "tiny-gpt2", "gpt2");

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-gemma", "tiny-phi3", "tiny-gpt-neox", "tiny-gpt2"})
    void everyWeightUnderItsLlamaCppNameWithTheConvertersTransform(String fixture) throws IOException {
        Path model = TinyModels.dir(fixture), out = tmp.resolve(fixture + ".gguf");
        assertEquals(0, Main.run("export-gguf", "--model", model.toString(), "--full", "--out", out.toString()));
        GgufFile g = new GgufFile(out);
        ModelConfig c = ModelConfig.load(model.resolve("config.json"));
        String arch = ARCH.get(fixture), a = arch + ".";
        boolean layerNorm = arch.equals("gptneox") || arch.equals("gpt2");

        assertEquals(3, g.version);
        assertEquals(arch, g.kv.get("general.architecture"));
        assertEquals("model", g.kv.get("general.type"));
        assertEquals(0, g.kv.get("general.file_type"), "ALL_F32");
        assertEquals(c.layers(), g.kv.get(a + "block_count"));
        assertEquals(c.maxPositions(), g.kv.get(a + "context_length"));
        assertEquals(c.hidden(), g.kv.get(a + "embedding_length"));
        assertEquals(c.intermediate(), g.kv.get(a + "feed_forward_length"));
        assertEquals(c.heads(), g.kv.get(a + "attention.head_count"));
        assertEquals(c.kvHeads(), g.kv.get(a + "attention.head_count_kv"));
        assertEquals(c.headDim(), g.kv.get(a + "attention.key_length"));
        assertEquals((float) c.normEps(), g.kv.get(a + (layerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon")));
        assertFalse(g.kv.containsKey(a + (layerNorm ? "attention.layer_norm_rms_epsilon" : "attention.layer_norm_epsilon")));
        if (arch.equals("gpt2")) {
            assertFalse(g.kv.containsKey(a + "rope.dimension_count"), "GPT-2 has learned positions");
        } else {
            assertEquals(c.rotaryDim(), g.kv.get(a + "rope.dimension_count"));
            assertEquals((float) c.ropeTheta(), g.kv.get(a + "rope.freq_base"));
        }
        if (arch.equals("gptneox")) {
            assertEquals(7, g.kvType.get(a + "use_parallel_residual"), "a bool");
            assertEquals(c.parallelResidual(), g.kv.get(a + "use_parallel_residual"));
        }
        // the word-level vocabulary: a "gpt2" vocabulary without merges, specials as control tokens, [UNK] as unknown
        assertEquals("gpt2", g.kv.get("tokenizer.ggml.model"));
        List<?> tokens = (List<?>) g.kv.get("tokenizer.ggml.tokens"), types = (List<?>) g.kv.get("tokenizer.ggml.token_type");
        assertEquals(c.vocabSize(), tokens.size());
        assertEquals(List.of("[UNK]", "[PAD]", "<s>", "</s>", "the"), tokens.subList(0, 5));
        assertEquals(List.of(2, 3, 3, 3, 1), types.subList(0, 5));
        assertEquals(List.of(), g.kv.get("tokenizer.ggml.merges"));
        assertEquals(0, g.kv.get("tokenizer.ggml.unknown_token_id"));

        Set<String> expected = new HashSet<>();
        try (TensorStore hf = SafetensorsReader.openModelDir(model)) {
            Pattern block = Pattern.compile("(model\\.layers|gpt_neox\\.layers|transformer\\.h)\\.(\\d+)\\.(.+)\\.(weight|bias)");
            for (String name : hf.names()) {
                Matcher m = block.matcher(name);
                String module = m.matches() ? m.group(3) : name.substring(0, name.lastIndexOf('.'));
                String suffix = name.substring(name.lastIndexOf('.'));
                String gguf = m.matches() ? "blk." + m.group(2) + "." + NAMES.get(module) + suffix : NAMES.get(module) + suffix;
                assertNotNull(NAMES.get(module), name);
                expected.add(gguf);
                RawTensor t = hf.get(name);
                float[] v = t.toFloats();
                long[] shape = t.shape();
                if (arch.equals("gpt2") && m.matches() && shape.length == 2) {  // Conv1D [in, out] -> [out, in]
                    v = transpose(v, (int) shape[0], (int) shape[1]);
                    shape = new long[]{shape[1], shape[0]};
                }
                if (arch.equals("gemma") && name.endsWith("norm.weight")) for (int i = 0; i < v.length; i++) v[i] += 1;
                int rows = (int) shape[0], in = shape.length == 2 ? (int) shape[1] : 1;
                v = GgufExportTest.baseRowOrder(v, rows, in, arch, module, c.heads(), c.kvHeads(), c.hidden());
                long[] ne = shape.length == 2 ? new long[]{shape[1], shape[0]} : new long[]{shape[0]};
                assertArrayEquals(ne, g.tensor(gguf).ne(), gguf);
                assertArrayEquals(v, g.values(gguf), gguf + " from " + name);
            }
        }
        Set<String> got = new HashSet<>();
        g.tensors.forEach(t -> got.add(t.name()));
        assertEquals(expected, got, "exactly the checkpoint's tensors (a tied head is not duplicated)");
    }

    /** One clear line, nothing written: BERT (not a causal LM), a classification adapter, a missing --adapter. */
    @Test
    void refusalsAreOneLine() throws IOException {
        Path out = tmp.resolve("x.gguf"), llama = TinyModels.dir("tiny-llama"), cls = tmp.resolve("cls");
        String bert = Pretrained.BUILTIN;
        assertOneLineError(out, "has no llama.cpp GGUF mapping", "export-gguf", "--model", bert, "--full", "--out", out.toString());
        PeftAdapter.save(cls, new LoraConfig(2, 4, 0, List.of("q_proj"), false), "SEQ_CLS", llama.toString(), List.of(),
                List.of(RawTensor.ofFloats("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", new long[]{2, 32}, new float[64]),
                        RawTensor.ofFloats("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", new long[]{32, 2}, new float[64])));
        assertOneLineError(out, "task_type SEQ_CLS", "export-gguf", "--model", llama.toString(), "--full", "--adapter", cls.toString(), "--out", out.toString());
        assertOneLineError(out, "--adapter is required without --full", "export-gguf", "--model", llama.toString(), "--out", out.toString());
    }

    /** The adapter export writes an Ollama Modelfile beside the adapter: FROM the base GGUF (or a placeholder), ADAPTER the file. */
    @Test
    void adapterExportWritesAModelfile() throws IOException {
        Path llama = TinyModels.dir("tiny-llama"), adapter = tmp.resolve("adapter"), dir = Files.createDirectories(tmp.resolve("out"));
        GgufFamily fam = GgufFamily.FAMILIES.get("llama");
        LlamaCppGgufTest.writeAdapter(ModelConfig.load(llama.resolve("config.json")), fam, llama, adapter);
        assertEquals(0, Main.run("export-gguf", "--model", llama.toString(), "--adapter", adapter.toString(), "--out", dir.resolve("a.gguf").toString()));
        String mf = Files.readString(dir.resolve("Modelfile"));
        assertTrue(mf.contains("\nFROM ./base.gguf\nADAPTER ./a.gguf\n") && mf.startsWith("# "), mf);
        assertEquals(0, Main.run("export-gguf", "--model", llama.toString(), "--adapter", adapter.toString(), "--out", dir.resolve("a.gguf").toString(),
                "--base-gguf", dir.resolve("models/base.gguf").toString(), "--overwrite"));
        assertEquals("FROM ./models/base.gguf\nADAPTER ./a.gguf\n", Files.readString(dir.resolve("Modelfile")));
    }

    /**
     * GPT-2's Conv1D layers store W as [in, out], but PEFT's lora_A and lora_B are [r, in] and [out, r] as for any
     * linear layer: the GGUF adapter has lora_a ne [in, r] and lora_b ne [r, out] under llama.cpp's GPT-2 names.
     */
    @Test
    void gpt2AdapterUsesLlamaCppNamesAndLinearShapes() throws IOException {
        Path gpt2 = TinyModels.dir("tiny-gpt2"), adapter = tmp.resolve("gpt2-adapter"), out = tmp.resolve("gpt2-adapter.gguf");
        ModelConfig c = ModelConfig.load(gpt2.resolve("config.json"));
        LlamaCppGgufTest.writeAdapter(c, GgufFamily.FAMILIES.get("gpt2"), gpt2, adapter);
        LoraToGguf.export(gpt2, adapter, out, GgufWriter.TensorType.F32);
        GgufFile g = new GgufFile(out);
        assertEquals("gpt2", g.kv.get("general.architecture"));
        long d = c.hidden(), f = c.intermediate(), r = LlamaCppGgufTest.R;
        Map<String, long[]> inOut = Map.of("attn_qkv", new long[]{d, 3 * d}, "attn_output", new long[]{d, d}, "ffn_up", new long[]{d, f}, "ffn_down", new long[]{f, d});
        assertEquals(2 * c.layers() * inOut.size(), g.tensors.size());
        for (int blk = 0; blk < c.layers(); blk++)
            for (var e : inOut.entrySet()) {
                String t = "blk." + blk + "." + e.getKey() + ".weight";
                assertArrayEquals(new long[]{e.getValue()[0], r}, g.tensor(t + ".lora_a").ne(), t);
                assertArrayEquals(new long[]{r, e.getValue()[1]}, g.tensor(t + ".lora_b").ne(), t);
            }
    }

    /** F16 cannot hold a weight beyond ±65504: the write fails naming the tensor and leaves no file, rather than writing infinity. */
    @Test
    void f16RefusesValuesBeyondItsRange() {
        Path out = tmp.resolve("big.gguf");
        GgufWriter w = new GgufWriter().tensor(new GgufWriter.Tensor("blk.0.ffn_down.weight", new long[]{2, 2}, new float[]{1, 2, 3, 1e5f}));
        dev.ffwd.FfwdException e = assertThrows(dev.ffwd.FfwdException.class, () -> w.write(out, GgufWriter.TensorType.F16));
        assertTrue(e.getMessage().contains("'blk.0.ffn_down.weight'") && e.getMessage().contains("F16"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    static void assertOneLineError(Path out, String expected, String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        int code;
        try {
            code = Main.run(args);
        } finally {
            System.setErr(old);
        }
        List<String> lines = err.toString().strip().lines().filter(l -> !l.startsWith("[W")).toList();  // libtorch warnings aside
        assertNotEquals(0, code, String.join(" ", args));
        assertEquals(1, lines.size(), err.toString());
        assertTrue(lines.get(0).startsWith("ffwd: error: ") && lines.get(0).contains(expected), lines.get(0));
        assertFalse(Files.exists(out), "nothing is written");
    }

    static float[] transpose(float[] v, int rows, int cols) {
        float[] t = new float[v.length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = v[i * cols + j];
        return t;
    }
}
