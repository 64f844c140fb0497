package dev.ffwd.gguf;

import dev.ffwd.FfwdException;
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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
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

    /**
     * One clear line, nothing written: BERT (not a causal LM), a classification adapter, a missing --adapter, an unknown
     * --outtype, a q8_0 adapter.
     */
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
        assertOneLineError(out, "--outtype must be f32, f16, bf16 or q8_0, got 'q4_0'", "export-gguf", "--model", llama.toString(), "--full",
                "--out", out.toString(), "--outtype", "q4_0");
        assertOneLineError(out, "a LoRA adapter is written as f32, f16 or bf16, not q8_0", "export-gguf", "--model", llama.toString(),
                "--adapter", cls.toString(), "--out", out.toString(), "--outtype", "q8_0");
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

    /**
     * BF16 as ggml's ggml_compute_fp32_to_bf16 rounds: to nearest, ties to even, subnormals kept; a NaN made quiet
     * rather than carried into infinity or the sign; a finite value beyond BF16's range refused. The bits are worked
     * out by hand; random values against the nearer of their two BF16 neighbours, found here in double.
     */
    @Test
    void bf16RoundsAsGgmlDoes() {
        int[][] cases = {  // float32 bits -> bfloat16 bits
                {0x3f800000, 0x3f80},  // 1: exact
                {0x3f808000, 0x3f80},  // halfway, even below: down
                {0x3f818000, 0x3f82},  // halfway, odd below: up
                {0x3f808001, 0x3f81},  // past halfway: up
                {0xbf80ffff, 0xbf81},  // negative: the magnitude rounds
                {0x80000000, 0x8000},  // -0
                {0x7f800000, 0x7f80},  // infinity
                {0x00008000, 0x0000},  // a subnormal halfway, even below: down
                {0x00018000, 0x0002},  // a subnormal halfway, odd below: up, not flushed
                {0x7f800001, 0x7fc0},  // a signalling NaN with only low bits: a quiet NaN, not infinity
                {0xffffffff, 0xffff}}; // a NaN with every bit: stays NaN, no carry into the sign
        float[] v = new float[cases.length];
        for (int i = 0; i < v.length; i++) v[i] = Float.intBitsToFloat(cases[i][0]);
        ByteBuffer b = ByteBuffer.wrap(GgufWriter.encode(v, GgufWriter.TensorType.BF16, "t")).order(ByteOrder.LITTLE_ENDIAN);
        float[] back = GgufFile.decode(b, 0, 30, v.length);
        for (int i = 0; i < v.length; i++) {
            assertEquals(cases[i][1], b.getShort(2 * i) & 0xffff, Integer.toHexString(cases[i][0]));
            assertEquals(Float.intBitsToFloat(cases[i][1] << 16), back[i], 0, "decoded " + Integer.toHexString(cases[i][0]));
        }
        Random rng = new Random(5);
        float[] r = new float[20000];
        for (int i = 0; i < r.length; i++) r[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(60) - 30));
        for (int i = 0; i < 64; i++) r[i] = Float.intBitsToFloat((rng.nextInt() & 0xffff0000) | 0x8000);  // ties
        float[] got = GgufFile.decode(ByteBuffer.wrap(GgufWriter.encode(r, GgufWriter.TensorType.BF16, "t")).order(ByteOrder.LITTLE_ENDIAN), 0, 30, r.length);
        for (int i = 0; i < r.length; i++) if (Float.isFinite(r[i])) assertEquals(bf16Nearest(r[i]), got[i], 0, "value " + r[i]);
        FfwdException e = assertThrows(FfwdException.class, () -> GgufWriter.encode(new float[]{1, Float.MAX_VALUE}, GgufWriter.TensorType.BF16, "x.gguf: tensor 'w'"));
        assertTrue(e.getMessage().startsWith("x.gguf: tensor 'w' holds ") && e.getMessage().contains("BF16"), e.getMessage());
    }

    /** The BF16 value nearest {@code x}, ties to the even one: of the two neighbours by truncation, chosen in double. */
    static float bf16Nearest(float x) {
        int lo = Float.floatToRawIntBits(x) & 0xffff0000;
        double below = Math.abs((double) x - Float.intBitsToFloat(lo)), above = Math.abs(Float.intBitsToFloat(lo + 0x10000) - (double) x);
        boolean up = above < below || above == below && (lo & 0x10000) != 0;
        return Float.intBitsToFloat(up ? lo + 0x10000 : lo);
    }

    /**
     * Q8_0 blocks as ggml's quantize_row_q8_0_ref writes them, bytes worked out by hand: the F16 scale d = max|x| / 127,
     * then x / d rounded half away from zero (C's roundf, where Java's Math.round would give -1.25 / 0.5 → -2), using d
     * before its F16 rounding; an all-zero block has d = 0. Random blocks, at scales from 1e-6 to 100, decode within
     * d / 2 + 127·|d − F16(d)|: half a quantization step, plus what the F16 scale moves the largest quant.
     */
    @Test
    void q8_0BlocksAsGgmlWritesThem() {
        float[] v = new float[96];
        // block 0: max 63.5, so d = 0.5 (F16 0x3800) and 1 / d = 2 exactly: the halfway cases are ties
        float[] b0 = {63.5f, -63.5f, 1.25f, -1.25f, 0.75f, 0.24f, -0.26f};
        System.arraycopy(b0, 0, v, 0, b0.length);
        // block 1: zeros. block 2: max 1, d = 1/127 (F16 0x2008, 0.0078735 < 1/127), 1 / d = 127 in float: 0.5 → 63.5 → 64
        float[] b2 = {1, 0.5f, -0.5f, 0.1f, -1};
        System.arraycopy(b2, 0, v, 64, b2.length);
        byte[] expected = new byte[3 * 34];
        byte[] e0 = {0x00, 0x38, 127, -127, 3, -3, 2, 0, -1}, e2 = {0x08, 0x20, 127, 64, -64, 13, -127};
        System.arraycopy(e0, 0, expected, 0, e0.length);
        System.arraycopy(e2, 0, expected, 68, e2.length);
        byte[] got = GgufWriter.encode(v, GgufWriter.TensorType.Q8_0, "t");
        assertArrayEquals(expected, got);
        float[] back = GgufFile.decode(ByteBuffer.wrap(got).order(ByteOrder.LITTLE_ENDIAN), 0, GgufFile.Q8_0, v.length);
        assertEquals(64 * 0.0078735352f, back[65], 0, "q · F16(d)");

        Random rng = new Random(9);
        float[] r = new float[32 * 200];
        for (int blk = 0; blk < 200; blk++) {
            double scale = Math.pow(10, rng.nextInt(9) - 6);
            for (int j = 0; j < 32; j++) r[blk * 32 + j] = (float) (scale * rng.nextGaussian());
        }
        assertQ8_0Close(r, GgufFile.decode(ByteBuffer.wrap(GgufWriter.encode(r, GgufWriter.TensorType.Q8_0, "t")).order(ByteOrder.LITTLE_ENDIAN),
                0, GgufFile.Q8_0, r.length), "random blocks");

        float[] inf = new float[32], big = new float[32];
        inf[3] = Float.POSITIVE_INFINITY;
        big[0] = 1e7f;  // d = 78740, beyond F16
        for (float[] bad : List.of(inf, big)) {
            FfwdException e = assertThrows(FfwdException.class, () -> GgufWriter.encode(bad, GgufWriter.TensorType.Q8_0, "x.gguf: tensor 'w'"));
            assertTrue(e.getMessage().startsWith("x.gguf: tensor 'w' holds ") && e.getMessage().contains("Q8_0"), e.getMessage());
        }
    }

    /**
     * A tensor is encoded a chunk at a time (a whole one at F32 would overflow a byte[] past 2 GB, as Llama-3-8B's
     * embedding does): one of a chunk and a block more reads back as the single encoding of all its values, and a
     * chunk ends on a Q8_0 block.
     */
    @Test
    void aTensorLongerThanAChunkIsWrittenWhole(@TempDir Path dir) throws IOException {
        assertEquals(0, GgufWriter.ENCODE_CHUNK % GgufWriter.TensorType.Q8_0.block);
        int n = GgufWriter.ENCODE_CHUNK + 64;
        float[] v = new float[n];
        Random rng = new Random(3);
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        for (GgufWriter.TensorType type : List.of(GgufWriter.TensorType.F32, GgufWriter.TensorType.Q8_0)) {
            Path f = dir.resolve(type + ".gguf");
            new GgufWriter().tensor(new GgufWriter.Tensor("w", new long[]{64, n / 64}, v)).write(f, type);
            GgufFile g = new GgufFile(f);
            float[] whole = GgufFile.decode(ByteBuffer.wrap(GgufWriter.encode(v, type, "w")).order(ByteOrder.LITTLE_ENDIAN), 0, type.id, n);
            assertArrayEquals(whole, g.values("w"), type.toString());
        }
    }

    /**
     * Each value of {@code got} within d / 2 + 127·|d − F16(d)| of {@code v}, d = its block's max|x| / 127, where F16's
     * rounding |d − F16(d)| is at most d·2⁻¹¹, or 2⁻²⁵ among its subnormals (a tiny block's scale may round to 0).
     */
    static void assertQ8_0Close(float[] v, float[] got, String what) {
        assertEquals(v.length, got.length, what);
        for (int blk = 0; blk < v.length / 32; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(v[blk * 32 + j]));
            double d = amax / 127.0, bound = (d / 2 + 127 * Math.max(d * 0x1p-11, 0x1p-25)) * (1 + 1e-6);
            for (int j = blk * 32; j < blk * 32 + 32; j++)
                assertTrue(Math.abs(v[j] - got[j]) <= bound, what + ": value " + j + ": " + v[j] + " decoded as " + got[j] + ", d = " + d);
        }
    }

    /**
     * --outtype bf16 and q8_0 against the f32 export of the same model: general.file_type (MOSTLY_BF16 = 32,
     * MOSTLY_Q8_0 = 7), each tensor's type as llama.cpp's converter chooses it (vectors and GPT-2's position table F32;
     * under q8_0 a matrix whose rows are not whole 32-value blocks F16), and its values rounded from the f32 ones.
     * The two variants have such rows (GPT-2's n_inner 40, Qwen3's 4 heads × 12).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-gemma", "tiny-phi3", "tiny-gpt-neox", "tiny-gpt2",
            "gpt2-bare-ninner", "qwen3-gqa-hd12-tied"})
    void bf16AndQ8_0ExportsRoundTheF32Export(String name) throws IOException {
        Path model = name.startsWith("tiny-") ? TinyModels.dir(name) : LlamaCppGgufTest.materialize(tmp, name), f32 = tmp.resolve("f32.gguf");
        assertEquals(0, Main.run("export-gguf", "--model", model.toString(), "--full", "--out", f32.toString()));
        GgufFile ref = new GgufFile(f32);
        int fallbacks = 0;
        for (String type : List.of("bf16", "q8_0")) {
            Path out = tmp.resolve(type + ".gguf");
            assertEquals(0, Main.run("export-gguf", "--model", model.toString(), "--full", "--out", out.toString(), "--outtype", type));
            GgufFile g = new GgufFile(out);
            assertEquals(type.equals("bf16") ? 32 : 7, g.kv.get("general.file_type"), type);
            assertEquals(ref.tensors.size(), g.tensors.size());
            for (GgufFile.TensorInfo t : ref.tensors) {
                String what = type + " " + t.name();
                GgufFile.TensorInfo q = g.tensor(t.name());
                assertArrayEquals(t.ne(), q.ne(), what);
                int expected = t.ne().length == 1 || t.name().startsWith("position_embd.") ? 0
                        : type.equals("bf16") ? 30 : t.ne()[0] % 32 == 0 ? GgufFile.Q8_0 : 1;
                assertEquals(expected, q.type(), what);
                float[] v = ref.values(t.name()), got = g.values(t.name());
                switch (expected) {
                    case 0 -> assertArrayEquals(v, got, what);
                    case 30 -> { for (int i = 0; i < v.length; i++) assertEquals(bf16Nearest(v[i]), got[i], 0, what); }
                    case 1 -> {
                        fallbacks++;
                        for (int i = 0; i < v.length; i++) assertEquals(v[i], got[i], Math.abs(v[i]) * 0x1p-11 + 0x1p-25, what);
                    }
                    default -> assertQ8_0Close(v, got, what);
                }
            }
        }
        assertEquals(name.startsWith("tiny-"), fallbacks == 0, "rows that are not whole Q8_0 blocks: " + fallbacks);
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
