package dev.ffwd.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.lora.LoraConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * PEFT's on-disk adapter format: {@code adapter_config.json} and {@code adapter_model.safetensors} with keys such as
 * {@code base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_A.weight}, loadable by
 * {@code PeftModel.from_pretrained}. A trained head is saved under its module name and listed in modules_to_save.
 */
public final class PeftAdapter {

    public static final String CONFIG = "adapter_config.json", WEIGHTS = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PeftAdapter() {}

    /** An adapter read back: its settings, task type and tensors by PEFT key. */
    public record Loaded(LoraConfig config, String taskType, List<String> modulesToSave, TensorStore tensors) implements AutoCloseable {
        @Override
        public void close() {
            tensors.close();
        }
    }

    /** taskType: PEFT's CAUSAL_LM, SEQ_CLS or FEATURE_EXTRACTION. */
    public static void save(Path dir, LoraConfig cfg, String taskType, String baseModel, List<String> modulesToSave,
                            Collection<RawTensor> tensors) {
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", taskType);
        c.put("base_model_name_or_path", baseModel);
        c.put("r", cfg.rank());
        c.put("lora_alpha", cfg.alpha());
        c.put("lora_dropout", cfg.dropout());
        var targets = c.putArray("target_modules");
        cfg.targets().forEach(targets::add);
        c.put("use_dora", cfg.dora());
        c.put("use_rslora", false);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("init_lora_weights", true);
        c.put("inference_mode", true);
        if (modulesToSave.isEmpty()) c.putNull("modules_to_save");
        else modulesToSave.forEach(c.putArray("modules_to_save")::add);
        c.putObject("rank_pattern");
        c.putObject("alpha_pattern");
        c.put("revision", (String) null);
        try {
            Files.createDirectories(dir);
            SafetensorsWriter.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
            AtomicFiles.writeString(dir.resolve(CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n");
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot write adapter: " + e.getMessage());
        }
    }

    public static Loaded load(Path dir) {
        Path cfgFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(cfgFile)) throw new FfwdException(cfgFile + ": adapter_config.json not found");
        JsonNode c;
        try {
            c = JSON.readTree(cfgFile.toFile());
        } catch (IOException e) {
            throw new FfwdException(cfgFile + ": invalid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!"LORA".equals(c.path("peft_type").asText()))
            throw new FfwdException(cfgFile + ": peft_type '" + c.path("peft_type").asText() + "' is not LORA");
        List<String> targets = new ArrayList<>();
        JsonNode t = c.get("target_modules");
        if (t != null && t.isArray()) t.forEach(n -> targets.add(n.asText()));
        else if (t != null && t.isTextual()) targets.add("re:" + t.asText());
        List<String> save = new ArrayList<>();
        if (c.path("modules_to_save").isArray()) c.get("modules_to_save").forEach(n -> save.add(n.asText()));
        try {
            LoraConfig cfg = new LoraConfig(c.path("r").asInt(), c.path("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(),
                    targets, c.path("use_dora").asBoolean(false));
            return new Loaded(cfg, c.path("task_type").asText("CAUSAL_LM"), save, SafetensorsReader.open(dir.resolve(WEIGHTS)));
        } catch (IllegalArgumentException e) {
            throw new FfwdException(cfgFile + ": " + e.getMessage());
        }
    }
}
