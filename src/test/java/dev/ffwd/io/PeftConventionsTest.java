package dev.ffwd.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.TinyModels;
import dev.ffwd.TestData;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What train writes, checked against PEFT's conventions rather than our own reader: adapter_config.json fields and
 * types as PEFT's LoraConfig reads them, and adapter_model.safetensors keys as PEFT's get_peft_model_state_dict
 * writes them for the HF class of each family ("base_model.model." + the module path in that class + ".lora_A.weight";
 * heads in modules_to_save saved under their plain module path), with lora_A [r, in] and lora_B [out, r].
 */
class PeftConventionsTest {

    @TempDir Path tmp;
    static final ObjectMapper JSON = new ObjectMapper();

    record Saved(JsonNode config, Map<String, long[]> shapes) {}

    Saved train(String model, Path data, Format format, List<String> targets) throws IOException {
        TrainConfig t = TestData.config(1, 1e-3);
        FineTune.Options o = FineTune.Options.builder(model, data, new LoraConfig(4, 8, 0.05, targets, false)).format(format)
                .maxLength(32).train(t).testFraction(0.25).validationSize(0).build();
        Path dir = tmp.resolve("adapter-" + Files.list(tmp).count());
        try (FineTune ft = FineTune.prepare(o)) {
            ft.newRun(FfConfig.off(), null);
            ft.saveAdapter(dir);
        }
        Map<String, long[]> shapes = new HashMap<>();
        try (TensorStore s = SafetensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            for (String n : s.names()) shapes.put(n, s.get(n).shape());
        }
        return new Saved(JSON.readTree(dir.resolve("adapter_config.json").toFile()), shapes);
    }

    /** Fields PEFT's LoraConfig needs, with PEFT's types, for adapters on nn.Linear layers. */
    static void assertPeftConfig(JsonNode c, String task, Object modulesToSave) {
        assertPeftConfig(c, task, modulesToSave, false);
    }

    /** {@code conv1d}: the adapted layers are HF Conv1D, for which PEFT sets (and saves) fan_in_fan_out. */
    static void assertPeftConfig(JsonNode c, String task, Object modulesToSave, boolean conv1d) {
        assertEquals("LORA", c.get("peft_type").asText());
        assertEquals(task, c.get("task_type").asText());
        assertTrue(c.get("r").isInt() && c.get("r").asInt() == 4, "r: " + c.get("r"));
        assertTrue(c.get("lora_alpha").isNumber() && c.get("lora_alpha").asDouble() == 8, "lora_alpha");
        assertEquals(0.05, c.get("lora_dropout").asDouble(), 1e-12);
        assertEquals("none", c.get("bias").asText());
        assertEquals(conv1d, c.get("fan_in_fan_out").asBoolean(!conv1d), "fan_in_fan_out: true exactly for Conv1D layers, stored [in, out]");
        assertFalse(c.get("use_dora").asBoolean(true));
        assertFalse(c.get("use_rslora").asBoolean(true), "scale is alpha/r");
        assertTrue(c.get("base_model_name_or_path").isTextual());
        if (modulesToSave == null) assertTrue(c.get("modules_to_save").isNull());
        else assertEquals(modulesToSave, JSON.convertValue(c.get("modules_to_save"), List.class));
        JsonNode tm = c.get("target_modules");
        assertTrue(tm.isTextual() || (tm.isArray() && tm.size() > 0), "target_modules must be a string (regex) or a list of names");
    }

    /** PEFT's matching: a string is re.fullmatch'ed, a list entry matches the whole path or a suffix after a dot. */
    static boolean peftMatches(JsonNode targetModules, String module) {
        if (targetModules.isTextual()) return Pattern.matches(targetModules.asText(), module);
        for (JsonNode t : targetModules) if (module.equals(t.asText()) || module.endsWith("." + t.asText())) return true;
        return false;
    }

    /** Keys of the adapted modules and the HF module paths that the target_modules of the config select. */
    static void assertKeysAndMatching(Saved s, Set<String> hfModules, Set<String> expectAdapted, Map<String, long[]> hfShapes, int r) {
        Set<String> keys = new TreeSet<>();
        for (String m : expectAdapted) {
            keys.add("base_model.model." + m + ".lora_A.weight");
            keys.add("base_model.model." + m + ".lora_B.weight");
            long[] w = hfShapes.get(m);
            assertArrayEquals(new long[]{r, w[1]}, s.shapes().get("base_model.model." + m + ".lora_A.weight"), m);
            assertArrayEquals(new long[]{w[0], r}, s.shapes().get("base_model.model." + m + ".lora_B.weight"), m);
        }
        Set<String> lora = new TreeSet<>(s.shapes().keySet());
        lora.removeIf(k -> !k.contains(".lora_"));
        assertEquals(keys, lora);
        Set<String> selected = new TreeSet<>();
        for (String m : hfModules) if (peftMatches(s.config().get("target_modules"), m)) selected.add(m);
        assertEquals(new TreeSet<>(expectAdapted), selected, "PEFT's target_modules would select other modules");
    }

    /** HF module paths of the Linear layers of a checkpoint, with [out, in], under {@code prefix} (HF's task class). */
    static Map<String, long[]> linears(Path model, String prefix) {
        Map<String, long[]> m = new HashMap<>();
        try (TensorStore s = SafetensorsReader.openModelDir(model)) {
            for (String n : s.names()) {
                if (!n.endsWith(".weight") || s.get(n).shape().length != 2 || n.contains("embed") || n.contains("embeddings")) continue;
                String module = n.substring(0, n.length() - ".weight".length());
                if (module.startsWith("bert.")) module = module.substring(5);
                m.put(prefix + module, s.get(n).shape());
            }
        }
        return m;
    }

    @Test
    void llamaCausalLm() throws IOException {
        Path model = TinyModels.dir("tiny-llama");
        Saved s = train(model.toString(), TestData.stories(tmp, 40, 1), Format.TEXT, List.of("q_proj", "v_proj"));
        assertPeftConfig(s.config(), "CAUSAL_LM", null);
        assertEquals(List.of("q_proj", "v_proj"), JSON.convertValue(s.config().get("target_modules"), List.class));
        Map<String, long[]> hf = linears(model, "");
        assertKeysAndMatching(s, hf.keySet(), Set.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), hf, 4);
    }

    @Test
    void gptNeoXCausalLmWithRegexTargets() throws IOException {
        Path model = TinyModels.dir("tiny-gpt-neox");
        Saved s = train(model.toString(), TestData.stories(tmp, 40, 1), Format.TEXT,
                List.of("re:gpt_neox\\.layers\\.1\\.attention\\..*", "dense_4h_to_h"));
        assertPeftConfig(s.config(), "CAUSAL_LM", null);
        assertTrue(s.config().get("target_modules").isTextual(), "PEFT reads regex targets only as one string: " + s.config().get("target_modules"));
        Map<String, long[]> hf = linears(model, "");
        assertKeysAndMatching(s, hf.keySet(), Set.of("gpt_neox.layers.1.attention.query_key_value", "gpt_neox.layers.1.attention.dense",
                "gpt_neox.layers.0.mlp.dense_4h_to_h", "gpt_neox.layers.1.mlp.dense_4h_to_h"), hf, 4);
    }

    @Test
    void llamaSequenceClassification() throws IOException {
        Path model = TinyModels.dir("tiny-llama");
        Saved s = train(model.toString(), labelled(), Format.CLASSIFICATION, List.of("q_proj"));
        assertPeftConfig(s.config(), "SEQ_CLS", List.of("score"));
        // LlamaForSequenceClassification: backbone "model.", head "score" without bias; PEFT saves the head as base_model.model.score.weight
        assertArrayEquals(new long[]{2, 32}, s.shapes().get("base_model.model.score.weight"));
        assertFalse(s.shapes().containsKey("base_model.model.score.bias"));
        Map<String, long[]> hf = linears(model, "");
        assertKeysAndMatching(s, hf.keySet(), Set.of("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"), hf, 4);
    }

    @Test
    void bertSequenceClassificationUsesBertForSequenceClassificationNames() throws IOException {
        Saved s = train(Pretrained.BUILTIN, labelled(), Format.CLASSIFICATION, List.of("re:.*layer\\.[0-2]\\.attention\\.self\\.(query|value)"));
        assertPeftConfig(s.config(), "SEQ_CLS", List.of("classifier"));
        assertArrayEquals(new long[]{2, 384}, s.shapes().get("base_model.model.classifier.weight"));
        assertArrayEquals(new long[]{2}, s.shapes().get("base_model.model.classifier.bias"));
        // BertForSequenceClassification's modules: "bert.encoder.layer.N...", plus "bert.pooler.dense" and "classifier"
        Map<String, long[]> hf = linears(Pretrained.resolve(Pretrained.BUILTIN), "bert.");
        Set<String> modules = new TreeSet<>(hf.keySet());
        modules.add("bert.pooler.dense");
        modules.add("classifier");
        Set<String> expect = new TreeSet<>();
        for (int l = 0; l < 3; l++) for (String p : List.of("query", "value")) expect.add("bert.encoder.layer." + l + ".attention.self." + p);
        assertKeysAndMatching(s, modules, expect, hf, 4);
    }

    /**
     * A family's linear layers in block N as transformers names them in its *ForCausalLM (and *ForSequenceClassification)
     * class, written here from transformers' modeling code, not taken from ffwd's layouts; {@code conv1d}: GPT-2's
     * Conv1D, weight stored [in, out].
     */
    record Family(String fixture, List<String> block, boolean conv1d) {}

    static final List<String> LLAMA_BLOCK = List.of("model.layers.N.self_attn.q_proj", "model.layers.N.self_attn.k_proj",
            "model.layers.N.self_attn.v_proj", "model.layers.N.self_attn.o_proj", "model.layers.N.mlp.gate_proj",
            "model.layers.N.mlp.up_proj", "model.layers.N.mlp.down_proj");
    static final List<Family> FAMILIES = List.of(
            new Family("tiny-llama", LLAMA_BLOCK, false), new Family("tiny-mistral", LLAMA_BLOCK, false),
            new Family("tiny-qwen2", LLAMA_BLOCK, false), new Family("tiny-qwen3", LLAMA_BLOCK, false),
            new Family("tiny-gemma", LLAMA_BLOCK, false),
            new Family("tiny-phi3", List.of("model.layers.N.self_attn.qkv_proj", "model.layers.N.self_attn.o_proj",
                    "model.layers.N.mlp.gate_up_proj", "model.layers.N.mlp.down_proj"), false),
            new Family("tiny-gpt-neox", List.of("gpt_neox.layers.N.attention.query_key_value", "gpt_neox.layers.N.attention.dense",
                    "gpt_neox.layers.N.mlp.dense_h_to_4h", "gpt_neox.layers.N.mlp.dense_4h_to_h"), false),
            new Family("tiny-gpt2", List.of("transformer.h.N.attn.c_attn", "transformer.h.N.attn.c_proj", "transformer.h.N.mlp.c_fc",
                    "transformer.h.N.mlp.c_proj"), true));

    /**
     * Every family with a fixture (BERT: above, on the built-in model): a language-model adapter on all linear layers,
     * named by the last part of each module path as a PEFT user writes them, has exactly the keys PEFT saves for the
     * stated HF module paths, each of which is a module of the base checkpoint; shapes as PEFT builds lora_A and lora_B
     * (Conv1D: in = weight.shape[0]); a classifier with the family's default targets adds the HF head "score" (no bias)
     * under modules_to_save, and adapts only modules of the base checkpoint.
     */
    @Test
    void everyFamilyWritesPeftKeysForItsHfModulePaths() throws IOException {
        for (Family f : FAMILIES) {
            Path model = TinyModels.dir(f.fixture());
            JsonNode hfConfig = JSON.readTree(model.resolve("config.json").toFile());
            int layers = hfConfig.has("n_layer") ? hfConfig.get("n_layer").asInt() : hfConfig.get("num_hidden_layers").asInt();
            Map<String, long[]> stored = linears(model, ""), outIn = new HashMap<>();  // module path -> weight as stored / as [out, in]
            stored.forEach((m, w) -> outIn.put(m, f.conv1d() ? new long[]{w[1], w[0]} : w));
            Set<String> expect = new TreeSet<>();
            for (int n = 0; n < layers; n++)
                for (String m : f.block()) {
                    String path = m.replace(".N.", "." + n + ".");
                    assertTrue(stored.containsKey(path), f.fixture() + ": HF module " + path + " is not in the base checkpoint");
                    expect.add(path);
                }
            List<String> targets = f.block().stream().map(m -> m.substring(m.lastIndexOf('.') + 1)).distinct().toList();
            Saved lm = train(model.toString(), TestData.stories(tmp, 40, 1), Format.TEXT, targets);
            assertPeftConfig(lm.config(), "CAUSAL_LM", null, f.conv1d());
            assertTrue(lm.config().get("base_model_name_or_path").asText().endsWith(f.fixture()), lm.config().toString());
            assertKeysAndMatching(lm, stored.keySet(), expect, outIn, 4);

            String modelType = hfConfig.get("model_type").asText();
            Saved cls = train(model.toString(), labelled(), Format.CLASSIFICATION, dev.ffwd.model.Arch.of(modelType).defaultTargets());
            assertPeftConfig(cls.config(), "SEQ_CLS", List.of("score"), f.conv1d());
            long hidden = hfConfig.has("n_embd") ? hfConfig.get("n_embd").asLong() : hfConfig.get("hidden_size").asLong();
            assertArrayEquals(new long[]{2, hidden}, cls.shapes().get("base_model.model.score.weight"), f.fixture());
            assertFalse(cls.shapes().containsKey("base_model.model.score.bias"), f.fixture() + ": HF's score head has no bias");
            for (String k : cls.shapes().keySet()) {
                if (k.startsWith("base_model.model.score.")) continue;
                Matcher m = LORA_KEY.matcher(k);
                assertTrue(m.matches() && stored.containsKey(m.group(1)), f.fixture() + ": '" + k + "' does not name a module of the base checkpoint");
            }
        }
    }

    static final Pattern LORA_KEY = Pattern.compile("base_model\\.model\\.(.+)\\.lora_[AB]\\.weight");

    Path labelled() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) lines.add("{\"text\": \"once upon a time the " + (i % 2 == 0 ? "cat" : "dog") + " was happy\", \"label\": \""
                + (i % 2 == 0 ? "cat" : "dog") + "\"}");
        Path f = tmp.resolve("labelled.jsonl");
        Files.write(f, lines);
        return f;
    }
}
