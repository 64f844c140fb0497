package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter as a GGUF LoRA adapter for llama.cpp (and Ollama's {@code ADAPTER}), laid out as llama.cpp's
 * {@code convert_lora_to_gguf.py} writes it: {@code general.architecture} = llama.cpp's name for the family,
 * {@code general.type} = "adapter", {@code adapter.type} = "lora", {@code adapter.lora.alpha} (f32), and for each
 * adapted weight {@code <llama.cpp tensor name>.lora_a} with ne [n_in, r] and {@code .lora_b} with ne [r, n_out].
 *
 * <p>llama.cpp's converter reorders the output rows of some weights for its kernels (Llama's q/k rows for its rotary
 * layout, GPT-NeoX's fused qkv from per-head [q k v] to [all q, all k, all v]); B·A must follow, so lora_B's rows are
 * reordered the same way and lora_A is written as is. GPT-2's Conv1D layers need nothing of their own: PEFT stores
 * their lora_A and lora_B as [r, in] and [out, r] like any other (fan_in_fan_out only transposes the merged update).
 */
public final class LoraToGguf {

    private LoraToGguf() {}

    /** Summary of an export. */
    public record Result(String arch, int adaptedWeights, float alpha) {}

    /**
     * Converts the PEFT adapter in {@code adapterDir} for the base model in {@code modelDir} (its config.json, and the
     * weight headers when the adapter records its base) into {@code out}.
     */
    public static Result export(Path modelDir, Path adapterDir, Path out, GgufWriter.TensorType type) {
        return export(modelDir, adapterDir, out, type, false);
    }

    /** As {@link #export(Path, Path, Path, GgufWriter.TensorType)}; {@code allowOtherBase}: see {@link PeftAdapter.Loaded#requireBase}. */
    public static Result export(Path modelDir, Path adapterDir, Path out, GgufWriter.TensorType type, boolean allowOtherBase) {
        // lora_b's rows hold r values, rarely whole Q8_0 blocks, and an adapter is small: quantising it gains little
        if (type == GgufWriter.TensorType.Q8_0)
            throw new FfwdException(adapterDir + ": a LoRA adapter is written as f32, f16 or bf16, not q8_0; to quantise, merge it: --full --adapter with --outtype q8_0");
        Path cfgFile = modelDir.resolve("config.json");
        JsonNode cfg = readConfig(cfgFile);
        String modelType = cfg.path("model_type").asText("");
        GgufFamily fam = GgufFamily.FAMILIES.get(modelType);
        if (fam == null)
            throw new FfwdException(cfgFile + ": model_type '" + modelType + "' has no llama.cpp LoRA mapping; supported: "
                    + String.join(", ", new java.util.TreeSet<>(GgufFamily.FAMILIES.keySet())));
        ModelConfig c = ModelConfig.load(cfgFile);  // each family's own keys (GPT-2's n_head, n_embd)
        GgufFamily.Dims dims = new GgufFamily.Dims(c.heads(), c.kvHeads(), c.hidden());

        GgufWriter w = new GgufWriter();
        float alpha;
        int adapted = 0;
        try (PeftAdapter.Loaded a = PeftAdapter.load(adapterDir)) {
            a.requireBase(modelDir, modelType, allowOtherBase);
            Path weights = a.tensors().source();
            if (a.config().dora()) throw new FfwdException(adapterDir + ": a DoRA adapter cannot be written as GGUF: llama.cpp has no DoRA");
            if (!a.taskType().equals("CAUSAL_LM"))
                throw new FfwdException(adapterDir + ": task_type " + a.taskType() + " adapter; llama.cpp applies LoRA adapters to causal LMs only (CAUSAL_LM)");
            alpha = (float) a.config().alpha();
            w.string("general.architecture", fam.arch());
            w.string("general.type", "adapter");
            w.string("adapter.type", "lora");
            w.string("general.name", modelDir.toAbsolutePath().normalize().getFileName().toString());
            w.float32("adapter.lora.alpha", alpha);
            w.uint32("general.quantization_version", 2);

            Pattern key = Pattern.compile(Pattern.quote(Lora.PEFT_PREFIX + fam.layers() + ".") + "(\\d+)\\.(.+)\\.lora_([AB])\\.weight");
            Map<Integer, Map<Integer, String>> modules = new TreeMap<>();  // block -> module index -> HF module (sorted)
            for (String n : a.tensors().names()) {
                Matcher m = key.matcher(n);
                GgufFamily.Module mod = m.matches() ? fam.linear(m.group(2)) : null;
                if (mod == null)
                    throw new FfwdException(weights + ": tensor '" + n + "' has no llama.cpp counterpart for " + modelType
                            + " (adaptable modules: " + fam.linears().stream().map(GgufFamily.Module::hf).toList() + ")");
                modules.computeIfAbsent(Integer.parseInt(m.group(1)), b -> new TreeMap<>()).put(fam.block().indexOf(mod), mod.hf());
            }
            for (var block : modules.entrySet()) {
                for (String hf : block.getValue().values()) {
                    String base = Lora.PEFT_PREFIX + fam.layers() + "." + block.getKey() + "." + hf;
                    for (String ab : List.of(".lora_A.weight", ".lora_B.weight"))
                        if (!a.tensors().contains(base + ab)) throw new FfwdException(weights + ": '" + base + ab + "' is missing (LoRA needs A and B)");
                    RawTensor la = a.tensors().get(base + ".lora_A.weight"), lb = a.tensors().get(base + ".lora_B.weight");
                    if (la.shape().length != 2 || lb.shape().length != 2 || la.shape()[0] != lb.shape()[1])
                        throw new FfwdException(weights + ": '" + base + "' has lora_A " + java.util.Arrays.toString(la.shape())
                                + " and lora_B " + java.util.Arrays.toString(lb.shape()) + "; expected [r, in] and [out, r]");
                    int r = (int) la.shape()[0], in = (int) la.shape()[1], outRows = (int) lb.shape()[0];
                    GgufFamily.Module mod = fam.linear(hf);
                    float[] b = mod.rows().apply(lb.toFloats(), outRows, r, dims, weights + ": '" + base + "'");
                    String name = GgufFamily.blockTensor(block.getKey(), mod, ".weight");
                    w.tensor(new GgufWriter.Tensor(name + ".lora_a", new long[]{in, r}, la.toFloats()));
                    w.tensor(new GgufWriter.Tensor(name + ".lora_b", new long[]{r, outRows}, b));
                    adapted++;
                }
            }
        }
        try {
            w.write(out, type);
        } catch (IOException e) {
            throw new FfwdException(out + ": cannot write GGUF: " + e.getMessage());
        }
        return new Result(fam.arch(), adapted, alpha);
    }

    private static JsonNode readConfig(Path f) {
        if (!Files.isRegularFile(f)) throw new FfwdException(f + ": config.json not found");
        try {
            return new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new FfwdException(f + ": invalid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

}
