package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.TinyModels;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.TestData;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.train.FineTune;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * export-gguf: a PEFT adapter on the fixtures' modules, written as GGUF and read back by an independent parser. Names,
 * shapes and metadata are checked against llama.cpp's conventions written out here by hand; values against the PEFT
 * adapter: lora_a is A, and lora_b·lora_a is B·A with its rows in the order llama.cpp's converter gives the base weight.
 */
class GgufExportTest {

    @TempDir Path tmp;
    static final int R = 3;

    /** HF module (in block N) → llama.cpp tensor, per family, as gguf-py's tensor_mapping has them. */
    static final Map<String, String> LLAMA_NAMES = Map.of("self_attn.q_proj", "attn_q", "self_attn.k_proj", "attn_k",
            "self_attn.v_proj", "attn_v", "self_attn.o_proj", "attn_output", "mlp.gate_proj", "ffn_gate", "mlp.up_proj", "ffn_up",
            "mlp.down_proj", "ffn_down");
    static final Map<String, String> NEOX_NAMES = Map.of("attention.query_key_value", "attn_qkv", "attention.dense", "attn_output",
            "mlp.dense_h_to_4h", "ffn_up", "mlp.dense_4h_to_h", "ffn_down");
    /** Phi-3 keeps its fused projections: qkv_proj is attn_qkv, gate_up_proj is ffn_up. */
    static final Map<String, String> PHI3_NAMES = Map.of("self_attn.qkv_proj", "attn_qkv", "self_attn.o_proj", "attn_output",
            "mlp.gate_up_proj", "ffn_up", "mlp.down_proj", "ffn_down");

    /** Per fixture: HF model_type, llama.cpp's architecture name (gguf-py's MODEL_ARCH_NAMES), HF layer list, tensor names. */
    record Family(String fixture, String arch, String layers, Map<String, String> names) {}

    static final List<Family> EXPORTABLE = List.of(new Family("tiny-llama", "llama", "model.layers", LLAMA_NAMES),
            new Family("tiny-mistral", "llama", "model.layers", LLAMA_NAMES), new Family("tiny-qwen2", "qwen2", "model.layers", LLAMA_NAMES),
            new Family("tiny-qwen3", "qwen3", "model.layers", LLAMA_NAMES), new Family("tiny-gemma", "gemma", "model.layers", LLAMA_NAMES),
            new Family("tiny-phi3", "phi3", "model.layers", PHI3_NAMES), new Family("tiny-gpt-neox", "gptneox", "gpt_neox.layers", NEOX_NAMES));

    /** Tiny Llama, Qwen2, GPT-NeoX and the rest: header, metadata, names, shapes and values through the independent parser. */
    @ParameterizedTest
    @FieldSource("EXPORTABLE")
    void exportThroughAnIndependentParser(Family f) throws IOException {
        check(f);
    }

    /**
     * What train writes, for every family llama.cpp takes: an adapter on all linear layers exports with llama.cpp's
     * architecture name and one lora_a / lora_b pair named blk.N.&lt;llama.cpp tensor&gt;.weight per adapted HF module.
     */
    @ParameterizedTest
    @FieldSource("EXPORTABLE")
    void trainedAdaptersUseLlamaCppNames(Family f) throws IOException {
        Path model = TinyModels.dir(f.fixture()), adapter = tmp.resolve("trained-" + f.fixture()), out = tmp.resolve(f.fixture() + "-trained.gguf");
        List<String> targets = f.names().keySet().stream().map(m -> m.substring(m.indexOf('.') + 1)).toList();
        List<String> keys = trainAdapter(model.toString(), Format.TEXT, TestData.stories(tmp, 40, 1), targets, adapter);
        LoraToGguf.export(model, adapter, out, GgufWriter.TensorType.F32);
        GgufFile g = new GgufFile(out);
        assertEquals(f.arch(), g.kv.get("general.architecture"), f.fixture());
        Pattern key = Pattern.compile(Pattern.quote("base_model.model." + f.layers() + ".") + "(\\d+)\\.(.+)\\.lora_([AB])\\.weight");
        Set<String> expected = new TreeSet<>(), got = new TreeSet<>();
        for (String k : keys) {
            Matcher m = key.matcher(k);
            assertTrue(m.matches(), f.fixture() + ": unexpected adapter key " + k);
            expected.add("blk." + m.group(1) + "." + f.names().get(m.group(2)) + ".weight.lora_" + m.group(3).toLowerCase());
        }
        g.tensors.forEach(t -> got.add(t.name()));
        assertEquals(expected, got, f.fixture());
        assertEquals(2 * 2 * f.names().size(), got.size(), f.fixture() + ": every linear layer of both blocks");
    }

    /** BERT adapters have no llama.cpp LoRA mapping: export-gguf says so in one line and writes nothing. */
    @Test
    void unsupportedFamiliesGiveOneClearErrorLine() throws IOException {
        Path labelled = tmp.resolve("labelled.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) lines.add("{\"text\": \"the cat was " + (i % 2 == 0 ? "happy" : "sad") + "\", \"label\": \"" + i % 2 + "\"}");
        Files.write(labelled, lines);
        Map<String, String[]> cases = new LinkedHashMap<>();
        cases.put("bert", new String[]{Pretrained.BUILTIN, "CLASSIFICATION"});
        for (var c : cases.entrySet()) {
            Path adapter = tmp.resolve("unsupported-" + c.getKey()), out = tmp.resolve(c.getKey() + ".gguf");
            Format format = Format.valueOf(c.getValue()[1]);
            trainAdapter(c.getValue()[0], format, format == Format.TEXT ? TestData.stories(tmp, 40, 1) : labelled,
                    dev.ffwd.model.Arch.of(c.getKey()).defaultTargets(), adapter);
            PrintStream old = System.err;
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            System.setErr(new PrintStream(err, true));
            int code;
            try {
                code = dev.ffwd.cli.Main.run("export-gguf", "--model", c.getValue()[0], "--adapter", adapter.toString(), "--out", out.toString());
            } finally {
                System.setErr(old);
            }
            List<String> errLines = err.toString().strip().lines().filter(l -> !l.startsWith("[W")).toList();  // libtorch warnings aside
            assertNotEquals(0, code, c.getKey());
            assertEquals(1, errLines.size(), c.getKey() + ": " + err);
            assertTrue(errLines.get(0).startsWith("ffwd: error: ") && errLines.get(0).contains("model_type '" + c.getKey() + "' has no llama.cpp LoRA mapping"),
                    errLines.get(0));
            assertFalse(Files.exists(out), "nothing is written");
        }
    }

    /** A freshly initialised adapter as train saves it (B is zero; names and shapes are what is checked); its tensor names. */
    static List<String> trainAdapter(String model, Format format, Path data, List<String> targets, Path dir) {
        FineTune.Options o = FineTune.Options.builder(model, data, new LoraConfig(R, 12, 0, targets, false)).format(format)
                .maxLength(32).train(TestData.config(1, 1e-3)).testFraction(0.25).validationSize(0).build();
        try (FineTune ft = FineTune.prepare(o)) {
            ft.newRun(FfConfig.off(), null);
            ft.saveAdapter(dir);
        }
        try (TensorStore s = SafetensorsReader.open(dir.resolve(PeftAdapter.WEIGHTS))) {
            return new ArrayList<>(s.names());
        }
    }

    /** The row orders, by hand on tiny cases. */
    @Test
    void rowOrdersByHand() {
        float[] rows = {0, 1, 2, 3, 4, 5, 6, 7};  // r = 1: one value per row
        GgufFamily.Dims oneHead = new GgufFamily.Dims(1, 1, 8), twoHeads = new GgufFamily.Dims(2, 2, 4);
        // Llama q/k, one head of 8: [x0..x3, y0..y3] -> [x0, y0, x1, y1, ...]
        assertArrayEquals(new float[]{0, 4, 1, 5, 2, 6, 3, 7}, GgufFamily.Rows.ROPE_Q.apply(rows, 8, 1, oneHead, "t"));
        // two heads of 4: each head on its own
        assertArrayEquals(new float[]{0, 2, 1, 3, 4, 6, 5, 7}, GgufFamily.Rows.ROPE_K.apply(rows, 8, 1, twoHeads, "t"));
        // GPT-NeoX qkv, 2 heads of 1 (hidden 2): [q0 k0 v0 q1 k1 v1] -> [q0 q1 k0 k1 v0 v1]
        float[] qkv = {0, 1, 2, 3, 4, 5};
        assertArrayEquals(new float[]{0, 3, 1, 4, 2, 5},
                GgufFamily.Rows.QKV_SPLIT.apply(qkv, 6, 1, new GgufFamily.Dims(2, 2, 2), "t"));
        // rows move as wholes when r > 1
        assertArrayEquals(new float[]{0, 1, 4, 5, 2, 3, 6, 7},
                GgufFamily.Rows.ROPE_Q.apply(rows, 4, 2, new GgufFamily.Dims(1, 1, 4), "t"));
    }

    @Test
    void refusesWhatLlamaCppCannotLoad() throws IOException {
        Path model = TinyModels.dir("tiny-llama");
        Path dora = tmp.resolve("dora");
        writeAdapter(model, "model.layers", List.of("self_attn.q_proj"), dora, true, "CAUSAL_LM");
        FfwdException e = assertThrows(FfwdException.class, () -> LoraToGguf.export(model, dora, tmp.resolve("x.gguf"), GgufWriter.TensorType.F32));
        assertTrue(e.getMessage().contains("DoRA"), e.getMessage());
        Path bert = Files.createDirectories(tmp.resolve("bert"));
        Files.writeString(bert.resolve("config.json"), "{\"model_type\": \"bert\"}");
        e = assertThrows(FfwdException.class, () -> LoraToGguf.export(bert, dora, tmp.resolve("y.gguf"), GgufWriter.TensorType.F32));
        assertTrue(e.getMessage().contains("model_type 'bert' has no llama.cpp LoRA mapping"), e.getMessage());
    }

    /** F16 and BF16 adapters hold the values rounded (within half of each type's precision); Q8_0 is refused in one line. */
    @Test
    void f16AndBf16Output() throws IOException {
        Path model = TinyModels.dir("tiny-llama"), adapter = tmp.resolve("a16");
        Map<String, float[]> peft = writeAdapter(model, "model.layers", List.of("self_attn.v_proj"), adapter, false, "CAUSAL_LM");
        float[] a = peft.get("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight");
        for (GgufWriter.TensorType type : List.of(GgufWriter.TensorType.F16, GgufWriter.TensorType.BF16)) {
            Path out = tmp.resolve(type + ".gguf");
            LoraToGguf.export(model, adapter, out, type);
            GgufFile g = new GgufFile(out);
            assertEquals(type.id, g.tensor("blk.0.attn_v.weight.lora_a").type());
            assertEquals(type.id, g.tensor("blk.0.attn_v.weight.lora_b").type());
            float[] got = g.values("blk.0.attn_v.weight.lora_a");
            double precision = type == GgufWriter.TensorType.F16 ? 0x1p-11 : 0x1p-8;
            for (int i = 0; i < a.length; i++) assertEquals(a[i], got[i], Math.abs(a[i]) * precision + 1e-7, type + " value " + i);
        }
        Path q8 = tmp.resolve("q8.gguf");
        FfwdException e = assertThrows(FfwdException.class, () -> LoraToGguf.export(model, adapter, q8, GgufWriter.TensorType.Q8_0));
        assertTrue(e.getMessage().contains("not q8_0") && !e.getMessage().contains("\n"), e.getMessage());
        assertFalse(Files.exists(q8));
    }

    void check(Family f) throws IOException {
        String fixture = f.fixture(), arch = f.arch(), layers = f.layers();
        Map<String, String> names = f.names();
        Path model = TinyModels.dir(fixture), adapter = tmp.resolve(fixture);
        JsonNode cfg = new ObjectMapper().readTree(model.resolve("config.json").toFile());
        List<String> modules = new ArrayList<>(names.keySet());
        Map<String, float[]> peft = writeAdapter(model, layers, modules, adapter, false, "CAUSAL_LM");
        Path out = tmp.resolve(fixture + ".gguf");
        LoraToGguf.export(model, adapter, out, GgufWriter.TensorType.F32);

        GgufFile g = new GgufFile(out);
        assertEquals(3, g.version);
        assertEquals(arch, g.kv.get("general.architecture"));
        assertEquals("adapter", g.kv.get("general.type"));
        assertEquals("lora", g.kv.get("adapter.type"));
        assertEquals(6, g.kvType.get("adapter.lora.alpha"), "alpha must be a float32");
        assertEquals(12.0f, (Float) g.kv.get("adapter.lora.alpha"));
        int blocks = cfg.get("num_hidden_layers").asInt();
        assertEquals(2 * blocks * modules.size(), g.tensors.size());

        int heads = cfg.get("num_attention_heads").asInt(), kv = cfg.path("num_key_value_heads").asInt(heads);
        for (int blk = 0; blk < blocks; blk++) {
            for (String m : modules) {
                String key = "base_model.model." + layers + "." + blk + "." + m;
                float[] a = peft.get(key + ".lora_A.weight"), b = peft.get(key + ".lora_B.weight");
                int in = a.length / R, rows = b.length / R;
                String t = "blk." + blk + "." + names.get(m) + ".weight";
                assertArrayEquals(new long[]{in, R}, g.tensor(t + ".lora_a").ne(), t);
                assertArrayEquals(new long[]{R, rows}, g.tensor(t + ".lora_b").ne(), t);
                assertEquals(0, g.tensor(t + ".lora_a").type(), "F32");
                assertArrayEquals(a, g.values(t + ".lora_a"), t + ".lora_a must be PEFT's lora_A");
                float[] expected = baseRowOrder(product(b, a, rows, in), rows, in, arch, m, heads, kv, cfg.get("hidden_size").asInt());
                float[] got = product(g.values(t + ".lora_b"), g.values(t + ".lora_a"), rows, in);
                for (int i = 0; i < expected.length; i++) assertEquals(expected[i], got[i], 1e-6, t + " delta element " + i);
            }
        }
    }

    /** B [rows, R] · A [R, in]. */
    static float[] product(float[] b, float[] a, int rows, int in) {
        float[] d = new float[rows * in];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < in; j++) {
                double s = 0;
                for (int k = 0; k < R; k++) s += b[i * R + k] * a[k * in + j];
                d[i * in + j] = (float) s;
            }
        return d;
    }

    /**
     * What llama.cpp's converter does to the base weight [rows, in], written as its tensor operations: Llama q/k
     * reshape(n, 2, rows/n/2, in).swapaxes(1, 2); GPT-NeoX qkv reshape(n, 3, hd, in) then [:, 0], [:, 1], [:, 2] stacked.
     */
    static float[] baseRowOrder(float[] w, int rows, int in, String arch, String module, int heads, int kv, int hidden) {
        float[] out = new float[w.length];
        if (arch.equals("llama") && (module.endsWith("q_proj") || module.endsWith("k_proj"))) {
            int n = module.endsWith("q_proj") ? heads : kv, half = rows / n / 2;
            for (int h = 0; h < n; h++)
                for (int two = 0; two < 2; two++)
                    for (int i = 0; i < half; i++) {  // source index (h, two, i) lands at (h, i, two)
                        int src = (h * 2 + two) * half + i, dst = (h * half + i) * 2 + two;
                        System.arraycopy(w, src * in, out, dst * in, in);
                    }
            return out;
        }
        if (arch.equals("gptneox") && module.equals("attention.query_key_value")) {
            int hd = hidden / heads, dst = 0;
            for (int part = 0; part < 3; part++)
                for (int h = 0; h < heads; h++)
                    for (int i = 0; i < hd; i++) System.arraycopy(w, ((h * 3 + part) * hd + i) * in, out, dst++ * in, in);
            return out;
        }
        return w;
    }

    /** A PEFT adapter with random A and B for {@code modules} in every block, shaped from the fixture's own weights. */
    static Map<String, float[]> writeAdapter(Path model, String layers, List<String> modules, Path dir, boolean dora, String task)
            throws IOException {
        Random rng = new Random(5);
        Map<String, float[]> values = new LinkedHashMap<>();
        List<RawTensor> tensors = new ArrayList<>();
        try (TensorStore w = SafetensorsReader.openModelDir(model)) {
            for (int blk = 0; w.contains(layers + "." + blk + "." + modules.get(0) + ".weight"); blk++) {
                for (String m : modules) {
                    long[] shape = w.get(layers + "." + blk + "." + m + ".weight").shape();  // [out, in]
                    String key = "base_model.model." + layers + "." + blk + "." + m;
                    float[] a = random(rng, R * (int) shape[1]), b = random(rng, (int) shape[0] * R);
                    values.put(key + ".lora_A.weight", a);
                    values.put(key + ".lora_B.weight", b);
                    tensors.add(RawTensor.ofFloats(key + ".lora_A.weight", new long[]{R, shape[1]}, a));
                    tensors.add(RawTensor.ofFloats(key + ".lora_B.weight", new long[]{shape[0], R}, b));
                    if (dora) tensors.add(RawTensor.ofFloats(key + ".lora_magnitude_vector", new long[]{shape[0]}, random(rng, (int) shape[0])));
                }
            }
        }
        PeftAdapter.save(dir, new LoraConfig(R, 12, 0, modules, dora), task, model.toString(), List.of(), tensors);
        return values;
    }

    static float[] random(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }
}
