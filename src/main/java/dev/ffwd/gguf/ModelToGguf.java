package dev.ffwd.gguf;

import ai.djl.ndarray.NDArray;
import dev.ffwd.FfwdException;
import dev.ffwd.chat.ChatTemplate;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Linear;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face causal LM, optionally with a PEFT LoRA adapter merged in, as a GGUF model for llama.cpp
 * (and Ollama's {@code FROM}), laid out as llama.cpp's {@code convert_hf_to_gguf.py} lays it out: the hyperparameters
 * under "{arch}.", the tokenizer under "tokenizer.ggml.", and every weight under its llama.cpp name
 * ({@link GgufFamily}), rows reordered where llama.cpp's kernels want another order.
 *
 * <p>The weights come from the loaded model, so whatever ffwd reads (F32, F16, BF16 safetensors, sharded folders,
 * GPT-2's bare keys) exports, and a merged adapter is exactly the model ffwd scores.
 */
public final class ModelToGguf {

    private ModelToGguf() {}

    /** Summary of an export. */
    public record Result(String arch, int tensors, boolean merged) {}

    /**
     * Writes the model in {@code modelDir}, with the adapter in {@code adapterDir} merged when it is not null, to
     * {@code out}; {@code allowOtherBase}: see {@link PeftAdapter.Loaded#requireBase}.
     */
    public static Result export(Path modelDir, Path adapterDir, Path out, GgufWriter.TensorType type, boolean allowOtherBase) {
        Path cfgFile = modelDir.resolve("config.json");
        ModelConfig cfg = ModelConfig.load(cfgFile);  // before loading weights: an unsupported family fails fast
        GgufFamily fam = family(cfg, cfgFile);
        try (Pretrained p = Pretrained.load(modelDir)) {
            if (adapterDir != null) {
                try (PeftAdapter.Loaded a = PeftAdapter.load(adapterDir)) {
                    a.requireBase(p.dir(), cfg.modelType(), allowOtherBase);
                    if (!a.taskType().equals("CAUSAL_LM"))
                        throw new FfwdException(adapterDir + ": task_type " + a.taskType() + " adapter; a GGUF model for llama.cpp is a causal LM, "
                                + "which has no place for a " + a.taskType() + " head (export CAUSAL_LM adapters only)");
                    if (!a.modulesToSave().isEmpty())
                        throw new FfwdException(adapterDir + ": the adapter trains whole modules (" + String.join(", ", a.modulesToSave())
                                + "), which are not merged; export the adapter's base and LoRA only, or save those modules into the base");
                    Lora.load(p.model(), a.config(), a.tensors()).merge();
                }
            }
            GgufWriter w = new GgufWriter();
            w.string("general.architecture", fam.arch());
            w.string("general.type", "model");
            w.uint32("general.file_type", type.fileType);
            w.uint32("general.quantization_version", 2);
            hyperparameters(w, fam, cfg, cfgFile);
            GgufVocab.read(modelDir, cfg.vocabSize()).write(w, modelDir.toAbsolutePath().normalize().getFileName().toString());
            // the model's chat format, as ffwd finds it (chat_template.jinja, else tokenizer_config.json), for llama.cpp's
            // and Ollama's chat modes
            ChatTemplate.find(modelDir).ifPresent(t -> w.string("tokenizer.chat_template", t.original()));
            int n = tensors(w, fam, cfg, p.model(), modelDir);
            try {
                w.write(out, type);
            } catch (IOException e) {
                throw new FfwdException(out + ": cannot write GGUF: " + e.getMessage());
            }
            return new Result(fam.arch(), n, adapterDir != null);
        }
    }

    /** The family's GGUF layout, or one line saying why llama.cpp cannot take this model. */
    static GgufFamily family(ModelConfig cfg, Path cfgFile) {
        GgufFamily fam = cfg.arch().gguf;
        if (fam == null || !cfg.causal())
            throw new FfwdException(cfgFile + ": model_type '" + cfg.modelType() + "' has no llama.cpp GGUF mapping (GGUF export writes causal LMs: "
                    + String.join(", ", new TreeSet<>(GgufFamily.FAMILIES.keySet())) + ")");
        if (!fam.anyHeadDim() && cfg.headDim() * cfg.heads() != cfg.hidden())
            throw new FfwdException(cfgFile + ": head_dim " + cfg.headDim() + " × " + cfg.heads() + " heads differs from hidden_size " + cfg.hidden()
                    + "; llama.cpp's " + fam.arch() + " graph assumes they are equal, so it cannot run this model");
        if (fam.tiedHead() == GgufFamily.TiedHead.ALWAYS && !cfg.tieEmbeddings())
            throw new FfwdException(cfgFile + ": tie_word_embeddings is false, but llama.cpp's " + fam.arch()
                    + " graph always uses the token embedding as the output matrix, so it cannot run this model");
        if (cfg.ropeScaling() != null && !cfg.ropeScaling().type().equals("linear") && !fam.ropeFreqs())
            throw new FfwdException(cfgFile + ": rope_scaling type '" + cfg.ropeScaling().type() + "': llama.cpp's " + fam.arch()
                    + " graph takes only linear rope scaling");
        return fam;
    }

    /**
     * llama.cpp's hyperparameter keys ({@code LLM_KV_*} in llama-arch.cpp), from config.json as ffwd reads it. The
     * head size is written as key/value_length, which llama.cpp otherwise derives as hidden / heads (wrong for
     * Gemma and Qwen3 configurations with an explicit head_dim).
     */
    static void hyperparameters(GgufWriter w, GgufFamily fam, ModelConfig c, Path cfgFile) {
        String a = fam.arch() + ".";
        w.uint32(a + "vocab_size", c.vocabSize());
        w.uint32(a + "context_length", c.maxPositions());
        w.uint32(a + "embedding_length", c.hidden());
        w.uint32(a + "block_count", c.layers());
        w.uint32(a + "feed_forward_length", c.intermediate());
        w.uint32(a + "attention.head_count", c.heads());
        w.uint32(a + "attention.head_count_kv", c.kvHeads());
        w.uint32(a + "attention.key_length", c.headDim());
        w.uint32(a + "attention.value_length", c.headDim());
        w.float32(a + fam.norm().epsilonKey, (float) c.normEps());
        if (c.rotaryDim() > 0) {  // GPT-2 has learned positions and no rotary keys
            w.uint32(a + "rope.dimension_count", c.rotaryDim());
            w.float32(a + "rope.freq_base", (float) c.ropeTheta());
        }
        if (c.ropeScaling() != null && c.ropeScaling().type().equals("linear")) {  // Llama 3.1's goes in rope_freqs (see tensors)
            w.string(a + "rope.scaling.type", "linear");
            w.float32(a + "rope.scaling.factor", (float) c.ropeScaling().factor());
        }
        if (fam.parallelResidualKey()) w.bool(a + "use_parallel_residual", c.parallelResidual());
        if (c.slidingWindow() > 0) {
            if (fam.slidingWindowKey()) w.uint32(a + "attention.sliding_window", c.slidingWindow());
            else System.err.println("note: " + cfgFile + ": sliding_window " + c.slidingWindow() + ": llama.cpp's " + fam.arch()
                    + " graph attends to the whole context (as its own converter leaves the window out), the same up to "
                    + c.slidingWindow() + " tokens");  // ffwd itself refuses longer inputs for the same reason
        }
    }

    /** Adds every weight under its llama.cpp name; returns how many. Unmapped weights are an error naming them. */
    static int tensors(GgufWriter w, GgufFamily fam, ModelConfig c, Transformer model, Path modelDir) {
        Map<String, NDArray> params = new LinkedHashMap<>(model.parameters());
        for (Map.Entry<String, Linear> e : model.linears().entrySet())
            params.put(e.getKey() + ".weight", e.getValue().weight());  // [out, in] for every family (GPT-2's Conv1D transposed back)
        GgufFamily.Dims dims = new GgufFamily.Dims(c.heads(), c.kvHeads(), c.hidden());
        Pattern inBlock = Pattern.compile(Pattern.quote(fam.layers() + ".") + "(\\d+)\\.(.+)\\.(weight|bias)");
        Map<String, GgufWriter.Tensor> global = new LinkedHashMap<>(), blocks = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            String name = e.getKey();
            Matcher m = inBlock.matcher(name);
            GgufFamily.Module mod;
            String gguf;
            if (m.matches()) {
                String hf = m.group(2);
                mod = fam.block().stream().filter(x -> x.hf().equals(hf)).findFirst().orElse(null);
                gguf = mod == null ? null : GgufFamily.blockTensor(Integer.parseInt(m.group(1)), mod, "." + m.group(3));
            } else {
                int dot = name.lastIndexOf('.');
                String hf = dot < 0 ? name : name.substring(0, dot);
                mod = fam.globals().stream().filter(x -> x.hf().equals(hf)).findFirst().orElse(null);
                gguf = mod == null ? null : mod.gguf() + name.substring(dot);
            }
            if (mod == null)
                throw new FfwdException(modelDir + ": tensor '" + name + "' has no place in llama.cpp's " + fam.arch() + " GGUF layout");
            (m.matches() ? blocks : global).put(gguf, tensor(gguf, mod, fam, e.getValue(), dims, modelDir + ": '" + name + "'"));
        }
        if (c.ropeScaling() != null && !c.ropeScaling().type().equals("linear")) {
            // llama.cpp divides each rotary angle by its factor: the unscaled frequency over the scaled one
            int half = c.rotaryDim() / 2;
            float[] factors = new float[half];
            for (int i = 0; i < half; i++) {
                double f = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / c.rotaryDim());
                factors[i] = (float) (f / c.ropeScaling().scale(f));
            }
            global.put(GgufFamily.ROPE_FREQS, new GgufWriter.Tensor(GgufFamily.ROPE_FREQS, new long[]{half}, factors));
        }
        if (c.tieEmbeddings() && fam.tiedHead() == GgufFamily.TiedHead.COPY) {  // llama.cpp requires "output": the embedding again
            GgufWriter.Tensor tokens = global.get(fam.tokens().gguf() + ".weight");
            String head = fam.head().gguf() + ".weight";
            global.put(head, new GgufWriter.Tensor(head, tokens.ne(), tokens.values()));
        }
        // token embedding first and block tensors in block order, as llama.cpp's converter writes them (readers do not care)
        String tokens = fam.tokens().gguf() + ".";
        global.values().stream().filter(t -> t.name().startsWith(tokens)).forEach(w::tensor);
        blocks.values().forEach(w::tensor);
        global.values().stream().filter(t -> !t.name().startsWith(tokens)).forEach(w::tensor);
        return global.size() + blocks.size();
    }

    /** One weight or bias: its values read when the file is written, rows reordered, Gemma's norm offset added. */
    private static GgufWriter.Tensor tensor(String gguf, GgufFamily.Module mod, GgufFamily fam, NDArray array, GgufFamily.Dims dims, String what) {
        long[] shape = array.getShape().getShape();
        if (shape.length < 1 || shape.length > 2) throw new FfwdException(what + ": " + shape.length + "-D tensor; GGUF export writes 1-D and 2-D weights");
        long[] ne = new long[shape.length];
        for (int i = 0; i < shape.length; i++) ne[i] = shape[shape.length - 1 - i];
        int rows = (int) shape[0], cols = shape.length == 2 ? (int) shape[1] : 1;
        boolean offset = mod.kind() == GgufFamily.Kind.NORM && gguf.endsWith(".weight") && fam.normOffset() != 0;
        // a table other than the token embedding (GPT-2's positions) stays F32, as llama.cpp's converter keeps POS_EMBD
        return new GgufWriter.Tensor(gguf, ne, () -> {
            float[] v;
            try (Fp32 f = Fp32.of(array)) {
                v = f.array().toFloatArray();
            }
            if (offset) for (int i = 0; i < v.length; i++) v[i] += fam.normOffset();  // llama.cpp's Gemma multiplies by the stored scale
            return mod.rows().apply(v, rows, cols, dims, what);
        }, mod.kind() == GgufFamily.Kind.TABLE);
    }
}
