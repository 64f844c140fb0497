package dev.ffwd.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Arch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
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

    /**
     * Metadata keys of {@code adapter_model.safetensors} naming the base an ffwd adapter was trained on (safetensors
     * metadata: PEFT and transformers ignore them).
     */
    static final String BASE_TYPE = "ffwd.base_model_type", BASE_DIGEST = "ffwd.base_digest";

    /** The model an adapter was trained on: its {@code model_type} and its {@link Digests#model} digest. */
    public record Base(String modelType, String digest) {}

    /** An adapter read back: its settings, task type and tensors by PEFT key. */
    public record Loaded(LoraConfig config, String taskType, List<String> modulesToSave, TensorStore tensors) implements AutoCloseable {
        /**
         * Refuses to apply this adapter to {@code modelDir} when the adapter records another base (ffwd's adapters do;
         * PEFT's own record none, and then only the shapes are checked, by {@code Lora.load}), unless {@code allowOther}.
         */
        public void requireBase(Path modelDir, String modelType, boolean allowOther) {
            String trainedOn = tensors.metadata().get(BASE_DIGEST);
            if (allowOther || trainedOn == null) return;
            String here = Digests.model(modelDir);
            String trainedType = tensors.metadata().getOrDefault(BASE_TYPE, "?");
            if (!trainedOn.equals(here))
                throw new FfwdException(tensors.source().getParent() + ": adapter was trained on a " + trainedType + " model with digest "
                        + trainedOn + ", but " + modelDir + " is a " + modelType + " model with digest " + here + " (config.json and weight headers); "
                        + (trainedType.equals(modelType) ? "pass --allow-other-base to apply it anyway"  // e.g. a re-saved or fine-tuned copy
                                : "pass --model with the " + trainedType + " model it was trained on"));
        }

        @Override
        public void close() {
            tensors.close();
        }
    }

    /** taskType: PEFT's CAUSAL_LM, SEQ_CLS or FEATURE_EXTRACTION; the adapted layers are nn.Linear (not Conv1D). */
    public static void save(Path dir, LoraConfig cfg, String taskType, String baseModel, List<String> modulesToSave,
                            Collection<RawTensor> tensors) {
        save(dir, cfg, taskType, baseModel, modulesToSave, tensors, "", false, null);
    }

    /**
     * The prefix HF's task class puts before the backbone's module names where ffwd's names lack it: the family's
     * {@link Arch.Head#backbonePrefix} for SEQ_CLS, empty for CAUSAL_LM (ffwd's names are those of *ForCausalLM).
     */
    public static String modulePrefix(Arch arch, String taskType) {
        return "SEQ_CLS".equals(taskType) ? arch.classifier.backbonePrefix() : "";
    }

    /**
     * PEFT's key of the adapter tensor that ffwd names {@code name} ({@link Lora#PEFT_PREFIX} + ffwd's module path + the
     * tensor, e.g. "lora_A.weight"): {@code modulePrefix} goes between the two. {@link #load} maps it back.
     */
    public static String adapterKey(String name, String modulePrefix) {
        if (!name.startsWith(Lora.PEFT_PREFIX)) throw new IllegalArgumentException("adapter tensor '" + name + "' lacks '" + Lora.PEFT_PREFIX + "'");
        return Lora.PEFT_PREFIX + modulePrefix + name.substring(Lora.PEFT_PREFIX.length());
    }

    /** PEFT's {@code modules_to_save} for trained head tensors named {@link Lora#PEFT_PREFIX} + module + ".weight" (or ".bias"). */
    public static List<String> modulesToSave(Collection<RawTensor> heads) {
        List<String> modules = new ArrayList<>();
        for (RawTensor t : heads) {
            String module = t.name().substring(Lora.PEFT_PREFIX.length(), t.name().lastIndexOf('.'));
            if (!modules.contains(module)) modules.add(module);
        }
        return modules;
    }

    /**
     * PEFT's {@code target_modules}: a list of names when every target is a name (PEFT matches a list entry against the
     * whole module path or its last components), else one regular expression that PEFT {@code re.fullmatch}es against
     * each module path: regex targets as written, name targets as {@code (?:.*\.)?name}, optionally after
     * {@code modulePrefix}. Null when every target is a plain name.
     */
    public static String targetRegex(List<String> targets, String modulePrefix) {
        if (targets.stream().noneMatch(t -> t.startsWith(LoraConfig.REGEX))) return null;
        List<String> parts = new ArrayList<>();
        for (String t : targets)
            parts.add(t.startsWith(LoraConfig.REGEX) ? "(?:" + t.substring(LoraConfig.REGEX.length()) + ")" : "(?:.*\\.)?" + escape(t));
        String any = String.join("|", parts);
        return modulePrefix.isEmpty() ? any : "(?:" + escape(modulePrefix) + ")?(?:" + any + ")";
    }

    /** Backslash before every character but letters, digits and '_' (valid in both Python's and Java's regex syntax). */
    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char ch : s.toCharArray()) {
            if (!Character.isLetterOrDigit(ch) && ch != '_') b.append('\\');
            b.append(ch);
        }
        return b.toString();
    }

    /**
     * As {@link #save(Path, LoraConfig, String, String, List, Collection)}, with {@link #modulePrefix} already applied to
     * the tensor names. {@code conv1d}: the adapted layers are HF Conv1D (GPT-2), whose weight is stored [in, out]; PEFT
     * then sets {@code fan_in_fan_out} (it does so itself on loading, with a warning, and saves it so). lora_A [r, in]
     * and lora_B [out, r] keep their shapes either way: the flag only transposes B·A when merging into the weight.
     * {@code base} (null: not recorded) goes into the weights' metadata, for {@link Loaded#requireBase}.
     */
    public static void save(Path dir, LoraConfig cfg, String taskType, String baseModel, List<String> modulesToSave,
                            Collection<RawTensor> tensors, String modulePrefix, boolean conv1d, Base base) {
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", taskType);
        c.put("base_model_name_or_path", baseModel);
        c.put("r", cfg.rank());
        c.put("lora_alpha", cfg.alpha());
        c.put("lora_dropout", cfg.dropout());
        String regex = targetRegex(cfg.targets(), modulePrefix);
        if (regex != null) c.put("target_modules", regex);
        else cfg.targets().forEach(c.putArray("target_modules")::add);
        c.put("use_dora", cfg.dora());
        c.put("use_rslora", false);
        c.put("bias", "none");
        c.put("fan_in_fan_out", conv1d);
        c.put("init_lora_weights", true);
        c.put("inference_mode", true);
        if (modulesToSave.isEmpty()) c.putNull("modules_to_save");
        else modulesToSave.forEach(c.putArray("modules_to_save")::add);
        c.putObject("rank_pattern");
        c.putObject("alpha_pattern");
        c.put("revision", (String) null);
        try {
            Files.createDirectories(dir);
            Map<String, String> meta = new LinkedHashMap<>(Map.of("format", "pt"));
            if (base != null) {
                meta.put(BASE_TYPE, base.modelType());
                meta.put(BASE_DIGEST, base.digest());
            }
            SafetensorsWriter.write(dir.resolve(WEIGHTS), tensors, meta);
            AtomicFiles.writeString(dir.resolve(CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n");
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot write adapter: " + e.getMessage());
        }
    }

    /**
     * The tensors with a task class's backbone prefix ({@link #modulePrefix}, e.g. BertForSequenceClassification's
     * "bert.") dropped from adapter keys, as ffwd names the modules.
     */
    private static TensorStore withoutTaskPrefix(TensorStore store) {
        List<String> prefixes = Arch.ALL.stream().map(a -> a.classifier.backbonePrefix()).filter(p -> !p.isEmpty())
                .map(p -> Lora.PEFT_PREFIX + p).distinct().toList();
        if (store.names().stream().noneMatch(n -> prefixes.stream().anyMatch(n::startsWith))) return store;
        Map<String, RawTensor> renamed = new LinkedHashMap<>();
        for (String n : store.names()) {
            String from = prefixes.stream().filter(n::startsWith).findFirst().orElse(null);
            String k = from != null ? Lora.PEFT_PREFIX + n.substring(from.length()) : n;
            RawTensor t = store.get(n);
            renamed.put(k, new RawTensor(k, t.dtype(), t.shape(), t.data()));
        }
        TensorStore view = TensorStore.of(store.source(), renamed);
        return new TensorStore() {  // the renamed tensors are views of the mapped file: keep it open until closed
            public java.util.Set<String> names() { return view.names(); }
            public RawTensor get(String name) { return view.get(name); }
            public Path source() { return store.source(); }
            public Map<String, String> metadata() { return store.metadata(); }
            public void close() { store.close(); }
        };
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
        else if (t != null && t.isTextual()) targets.add(LoraConfig.REGEX + t.asText());
        List<String> save = new ArrayList<>();
        if (c.path("modules_to_save").isArray()) c.get("modules_to_save").forEach(n -> save.add(n.asText()));
        try {
            LoraConfig cfg = new LoraConfig(c.path("r").asInt(), c.path("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(),
                    targets, c.path("use_dora").asBoolean(false));
            return new Loaded(cfg, c.path("task_type").asText("CAUSAL_LM"), save, withoutTaskPrefix(SafetensorsReader.open(dir.resolve(WEIGHTS))));
        } catch (IllegalArgumentException e) {
            throw new FfwdException(cfgFile + ": " + e.getMessage());
        }
    }
}
