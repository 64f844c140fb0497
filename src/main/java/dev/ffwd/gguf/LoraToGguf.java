package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.lora.Lora;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * reordered the same way and lora_A is written as is.
 */
public final class LoraToGguf {

    /** How llama.cpp's converter reorders a weight's output rows. */
    public enum Rows { KEEP, ROPE_Q, ROPE_K, QKV_SPLIT }

    /** An HF module inside a block (the path after "{layers}.N.") and its llama.cpp tensor name inside "blk.N.". */
    public record Module(String hf, String gguf, Rows rows) {}

    /** A model family: llama.cpp's architecture name, the HF path of the layer list, and the modules LoRA may adapt. */
    public record Family(String arch, String layers, List<Module> modules) {
        public Family {
            modules = List.copyOf(modules);
        }

        Module module(String hf) {
            return modules.stream().filter(m -> m.hf().equals(hf)).findFirst().orElse(null);
        }
    }

    private static final List<Module> LLAMA_LIKE = List.of(
            new Module("self_attn.q_proj", "attn_q", Rows.KEEP), new Module("self_attn.k_proj", "attn_k", Rows.KEEP),
            new Module("self_attn.v_proj", "attn_v", Rows.KEEP), new Module("self_attn.o_proj", "attn_output", Rows.KEEP),
            new Module("mlp.gate_proj", "ffn_gate", Rows.KEEP), new Module("mlp.up_proj", "ffn_up", Rows.KEEP),
            new Module("mlp.down_proj", "ffn_down", Rows.KEEP));

    /** Llama-style names with llama.cpp's rotary row permutation of q_proj and k_proj. */
    private static List<Module> ropePermuted() {
        List<Module> m = new ArrayList<>(LLAMA_LIKE);
        m.set(0, new Module("self_attn.q_proj", "attn_q", Rows.ROPE_Q));
        m.set(1, new Module("self_attn.k_proj", "attn_k", Rows.ROPE_K));
        return m;
    }

    /**
     * By HF {@code model_type}: what llama.cpp's convert_hf_to_gguf.py does with each family (LlamaModel permutes q/k;
     * Qwen2/Qwen3/Gemma keep rows; GPTNeoXModel splits the fused qkv; Phi3 keeps its fused qkv and gate_up).
     * Add a family here with its llama.cpp arch name and tensor names (gguf-py's constants and tensor_mapping).
     */
    public static final Map<String, Family> FAMILIES = Map.of(
            "llama", new Family("llama", "model.layers", ropePermuted()),
            "mistral", new Family("llama", "model.layers", ropePermuted()),
            "qwen2", new Family("qwen2", "model.layers", LLAMA_LIKE),
            "qwen3", new Family("qwen3", "model.layers", LLAMA_LIKE),
            "gemma", new Family("gemma", "model.layers", LLAMA_LIKE),
            "phi3", new Family("phi3", "model.layers", List.of(
                    new Module("self_attn.qkv_proj", "attn_qkv", Rows.KEEP), new Module("self_attn.o_proj", "attn_output", Rows.KEEP),
                    new Module("mlp.gate_up_proj", "ffn_up", Rows.KEEP), new Module("mlp.down_proj", "ffn_down", Rows.KEEP))),
            "gpt_neox", new Family("gptneox", "gpt_neox.layers", List.of(
                    new Module("attention.query_key_value", "attn_qkv", Rows.QKV_SPLIT), new Module("attention.dense", "attn_output", Rows.KEEP),
                    new Module("mlp.dense_h_to_4h", "ffn_up", Rows.KEEP), new Module("mlp.dense_4h_to_h", "ffn_down", Rows.KEEP))));

    /** What the reordering needs from the base model's config.json. */
    record Dims(int heads, int kvHeads, int hidden) {}

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
        Path cfgFile = modelDir.resolve("config.json");
        JsonNode cfg = readConfig(cfgFile);
        String modelType = cfg.path("model_type").asText("");
        Family fam = FAMILIES.get(modelType);
        if (fam == null)
            throw new FfwdException(cfgFile + ": model_type '" + modelType + "' has no llama.cpp LoRA mapping; supported: "
                    + String.join(", ", new java.util.TreeSet<>(FAMILIES.keySet())));
        Dims dims = new Dims(positive(cfg, "num_attention_heads", cfgFile),
                cfg.has("num_key_value_heads") ? positive(cfg, "num_key_value_heads", cfgFile) : positive(cfg, "num_attention_heads", cfgFile),
                positive(cfg, "hidden_size", cfgFile));

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
                Module mod = m.matches() ? fam.module(m.group(2)) : null;
                if (mod == null)
                    throw new FfwdException(weights + ": tensor '" + n + "' has no llama.cpp counterpart for " + modelType
                            + " (adaptable modules: " + fam.modules().stream().map(Module::hf).toList() + ")");
                modules.computeIfAbsent(Integer.parseInt(m.group(1)), b -> new TreeMap<>()).put(fam.modules().indexOf(mod), mod.hf());
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
                    Module mod = fam.module(hf);
                    float[] b = reorderRows(lb.toFloats(), outRows, r, mod.rows(), dims, weights + ": '" + base + "'");
                    String name = "blk." + block.getKey() + "." + mod.gguf() + ".weight";
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

    /** lora_B [rows, r] with its rows in llama.cpp's order for the weight (see {@link Rows}). */
    static float[] reorderRows(float[] b, int rows, int r, Rows how, Dims d, String what) {
        if (how == Rows.KEEP) return b;
        int[] from = new int[rows];  // new row i takes old row from[i]
        switch (how) {
            case ROPE_Q, ROPE_K -> {
                int n = how == Rows.ROPE_Q ? d.heads() : d.kvHeads();
                if (rows % (2 * n) != 0) throw new FfwdException(what + ": " + rows + " rows do not split into " + n + " heads of even size");
                int hd = rows / n, half = hd / 2;
                // per head, rows [x0 .. x(half-1), y0 .. y(half-1)] become [x0, y0, x1, y1, ...]
                for (int h = 0; h < n; h++)
                    for (int i = 0; i < half; i++)
                        for (int j = 0; j < 2; j++) from[h * hd + i * 2 + j] = h * hd + j * half + i;
            }
            case QKV_SPLIT -> {
                int n = d.heads(), hd = d.hidden() / n;
                if (rows != 3 * d.hidden() || d.hidden() % n != 0)
                    throw new FfwdException(what + ": " + rows + " rows, expected 3 × hidden_size " + d.hidden());
                // per head [q k v] blocks become [all q heads, all k heads, all v heads]
                for (int t = 0; t < 3; t++)
                    for (int h = 0; h < n; h++)
                        for (int i = 0; i < hd; i++) from[t * d.hidden() + h * hd + i] = h * 3 * hd + t * hd + i;
            }
            default -> throw new IllegalStateException(how.toString());
        }
        float[] out = new float[b.length];
        for (int i = 0; i < rows; i++) System.arraycopy(b, from[i] * r, out, i * r, r);
        return out;
    }

    private static JsonNode readConfig(Path f) {
        if (!Files.isRegularFile(f)) throw new FfwdException(f + ": config.json not found");
        try {
            return new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new FfwdException(f + ": invalid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static int positive(JsonNode cfg, String key, Path f) {
        JsonNode v = cfg.get(key);
        if (v == null || !v.isIntegralNumber() || v.asInt() <= 0) throw new FfwdException(f + ": '" + key + "' must be a positive integer, got " + v);
        return v.asInt();
    }
}
