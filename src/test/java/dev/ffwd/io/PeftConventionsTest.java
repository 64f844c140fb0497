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
        FineTune.Options o = new FineTune.Options(model, data, format, 32, false, new LoraConfig(4, 8, 0.05, targets, false), t, 0.25, 0, 0, null);
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

    /** Fields PEFT's LoraConfig needs, with PEFT's types. */
    static void assertPeftConfig(JsonNode c, String task, Object modulesToSave) {
        assertEquals("LORA", c.get("peft_type").asText());
        assertEquals(task, c.get("task_type").asText());
        assertTrue(c.get("r").isInt() && c.get("r").asInt() == 4, "r: " + c.get("r"));
        assertTrue(c.get("lora_alpha").isNumber() && c.get("lora_alpha").asDouble() == 8, "lora_alpha");
        assertEquals(0.05, c.get("lora_dropout").asDouble(), 1e-12);
        assertEquals("none", c.get("bias").asText());
        assertFalse(c.get("fan_in_fan_out").asBoolean(true), "HF Linear layers are [out, in]");
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

    Path labelled() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) lines.add("{\"text\": \"once upon a time the " + (i % 2 == 0 ? "cat" : "dog") + " was happy\", \"label\": \""
                + (i % 2 == 0 ? "cat" : "dog") + "\"}");
        Path f = tmp.resolve("labelled.jsonl");
        Files.write(f, lines);
        return f;
    }
}
