package dev.ffwd.gguf;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How one Hugging Face model family is laid out in llama.cpp's GGUF: llama.cpp's architecture name, which HF module
 * becomes which llama.cpp tensor, how rows are reordered on the way, and the few conventions that differ between
 * families (RMSNorm or LayerNorm, Gemma's norm offset, GPT-NeoX's parallel residual). Both exports read it: the full
 * model ({@link ModelToGguf}) writes every tensor listed here, the adapter export ({@link LoraToGguf}) the linear ones.
 *
 * <p>The names are those of llama.cpp's gguf-py ({@code constants.py} MODEL_ARCH_NAMES and TENSOR_NAMES,
 * {@code tensor_mapping.py}) and {@code src/llama-arch.cpp}; the reorderings are those of {@code convert_hf_to_gguf.py}.
 * Each llama.cpp name is written once per family, here.
 */
public record GgufFamily(String arch, String layers, List<Module> globals, List<Module> block, Norm norm, float normOffset,
                         boolean parallelResidualKey, TiedHead tiedHead, boolean anyHeadDim, boolean ropeFreqs, boolean slidingWindowKey) {

    /**
     * The tensor of per-frequency divisors that llama.cpp's Llama graph applies to its rotary angles (how Llama 3.1's
     * rope_scaling reaches it); families without {@code ropeFreqs} have no place for it.
     */
    public static final String ROPE_FREQS = "rope_freqs.weight";

    /**
     * What llama.cpp's graph does about a head tied to the token embedding (tie_word_embeddings). OMIT: it reuses
     * token_embd when "output" is absent, so a tied head is not written (as llama.cpp's converter leaves it out);
     * COPY: it requires "output", so a tied head is written as a copy of the embedding; ALWAYS: it always uses
     * token_embd and rejects an "output" tensor, so an untied head cannot be exported.
     */
    public enum TiedHead { OMIT, COPY, ALWAYS }

    /** What the row reorderings need from config.json. */
    public record Dims(int heads, int kvHeads, int hidden) {
        public Dims {
            if (heads <= 0 || kvHeads <= 0 || hidden <= 0) throw new IllegalArgumentException("dimensions must be positive: " + heads + ", " + kvHeads + ", " + hidden);
        }
    }

    /** How llama.cpp's converter reorders a weight's output rows (and its bias). */
    public enum Rows {
        KEEP, ROPE_Q, ROPE_K, QKV_SPLIT;

        /**
         * {@code values} [rows, cols] (a weight, a LoRA B with cols = r, or a bias with cols = 1) with its rows in
         * llama.cpp's order; {@code what} names the tensor in errors.
         */
        public float[] apply(float[] values, int rows, int cols, Dims d, String what) {
            if (this == KEEP) return values;
            if ((long) rows * cols != values.length) throw new IllegalArgumentException(what + ": " + values.length + " values, expected " + rows + " × " + cols);
            int[] from = new int[rows];  // new row i takes old row from[i]
            switch (this) {
                case ROPE_Q, ROPE_K -> {
                    int n = this == ROPE_Q ? d.heads() : d.kvHeads();
                    if (rows % (2 * n) != 0) throw new dev.ffwd.FfwdException(what + ": " + rows + " rows do not split into " + n + " heads of even size");
                    int hd = rows / n, half = hd / 2;
                    // HF's rotate-half pairs (i, i + half) of a head become llama.cpp's adjacent pairs (2i, 2i + 1):
                    // per head, rows [x0 .. x(half-1), y0 .. y(half-1)] become [x0, y0, x1, y1, ...]
                    for (int h = 0; h < n; h++)
                        for (int i = 0; i < half; i++)
                            for (int j = 0; j < 2; j++) from[h * hd + i * 2 + j] = h * hd + j * half + i;
                }
                case QKV_SPLIT -> {
                    int n = d.heads(), hd = d.hidden() / n;
                    if (rows != 3 * d.hidden() || d.hidden() % n != 0)
                        throw new dev.ffwd.FfwdException(what + ": " + rows + " rows, expected 3 × hidden_size " + d.hidden());
                    // per head [q k v] blocks become [all q heads, all k heads, all v heads], the order llama.cpp's views take
                    for (int t = 0; t < 3; t++)
                        for (int h = 0; h < n; h++)
                            for (int i = 0; i < hd; i++) from[t * d.hidden() + h * hd + i] = h * 3 * hd + t * hd + i;
                }
                default -> throw new IllegalStateException(toString());
            }
            float[] out = new float[values.length];
            for (int i = 0; i < rows; i++) System.arraycopy(values, from[i] * cols, out, i * cols, cols);
            return out;
        }
    }

    /**
     * What a module holds. LINEAR: a projection y = x·Wᵀ (+ b), weight [out, in], which a LoRA adapter may target;
     * NORM: a normalisation scale (+ bias); TOKENS: the token embedding [vocab, hidden]; HEAD: the output matrix
     * [vocab, hidden]; TABLE: another table (GPT-2's learned positions).
     */
    public enum Kind { LINEAR, NORM, TOKENS, HEAD, TABLE }

    /** Which normalisation the family uses; it decides llama.cpp's epsilon key. */
    public enum Norm {
        RMS("attention.layer_norm_rms_epsilon"), LAYER("attention.layer_norm_epsilon");

        public final String epsilonKey;

        Norm(String epsilonKey) {
            this.epsilonKey = epsilonKey;
        }
    }

    /**
     * An HF module (a path without ".weight"/".bias"; inside a block, the path after "{layers}.N.") and its llama.cpp
     * tensor name (inside "blk.N."); its weight and bias keep their suffixes.
     */
    public record Module(String hf, String gguf, Kind kind, Rows rows) {
        public Module {
            if (hf == null || hf.isEmpty() || gguf == null || gguf.isEmpty()) throw new IllegalArgumentException("module names must be set");
            if (rows != Rows.KEEP && kind != Kind.LINEAR) throw new IllegalArgumentException(hf + ": only linear layers are reordered");
        }

        static Module linear(String hf, String gguf) {
            return new Module(hf, gguf, Kind.LINEAR, Rows.KEEP);
        }

        static Module norm(String hf, String gguf) {
            return new Module(hf, gguf, Kind.NORM, Rows.KEEP);
        }

        static Module table(String hf, String gguf) {
            return new Module(hf, gguf, Kind.TABLE, Rows.KEEP);
        }

        static Module tokens(String hf) {
            return new Module(hf, "token_embd", Kind.TOKENS, Rows.KEEP);
        }

        static Module head(String hf) {
            return new Module(hf, "output", Kind.HEAD, Rows.KEEP);
        }
    }

    public GgufFamily {
        globals = List.copyOf(globals);
        block = List.copyOf(block);
        for (List<Module> l : List.of(globals, block)) {
            if (l.stream().map(Module::hf).distinct().count() != l.size()) throw new IllegalArgumentException(arch + ": an HF module is listed twice");
            if (l.stream().map(Module::gguf).distinct().count() != l.size()) throw new IllegalArgumentException(arch + ": a llama.cpp name is listed twice");
        }
        if (normOffset != 0 && norm != Norm.RMS) throw new IllegalArgumentException(arch + ": a norm offset applies to RMSNorm scales only");
        for (Kind k : List.of(Kind.TOKENS, Kind.HEAD))
            if (globals.stream().filter(m -> m.kind() == k).count() != 1) throw new IllegalArgumentException(arch + ": needs exactly one " + k + " module");
    }

    /** The token embedding (token_embd). */
    public Module tokens() {
        return globals.stream().filter(m -> m.kind() == Kind.TOKENS).findFirst().orElseThrow();
    }

    /** The output matrix ("output"). */
    public Module head() {
        return globals.stream().filter(m -> m.kind() == Kind.HEAD).findFirst().orElseThrow();
    }

    /** The linear layer {@code hf} of a block (the path after "{layers}.N."), or null when it has no llama.cpp counterpart. */
    public Module linear(String hf) {
        return block.stream().filter(m -> m.kind() == Kind.LINEAR && m.hf().equals(hf)).findFirst().orElse(null);
    }

    /** The block's linear layers: what a LoRA adapter may target. */
    public List<Module> linears() {
        return block.stream().filter(m -> m.kind() == Kind.LINEAR).toList();
    }

    /** The tensor name that llama.cpp gives to {@code module} in block {@code layer}; with its ".weight"/".bias" suffix. */
    public static String blockTensor(int layer, Module module, String suffix) {
        return "blk." + layer + "." + module.gguf() + suffix;
    }

    // ---- the families ----------------------------------------------------------------------------------------

    /** The pre-norm decoder block that Llama, Mistral, Qwen2/3 and Gemma share under "model.layers.N.". */
    private static List<Module> decoderBlock(boolean ropePermuted, boolean qkNorm) {
        List<Module> m = new ArrayList<>(List.of(
                Module.norm("input_layernorm", "attn_norm"),
                new Module("self_attn.q_proj", "attn_q", Kind.LINEAR, ropePermuted ? Rows.ROPE_Q : Rows.KEEP),
                new Module("self_attn.k_proj", "attn_k", Kind.LINEAR, ropePermuted ? Rows.ROPE_K : Rows.KEEP),
                Module.linear("self_attn.v_proj", "attn_v"), Module.linear("self_attn.o_proj", "attn_output"),
                Module.norm("post_attention_layernorm", "ffn_norm"),
                Module.linear("mlp.gate_proj", "ffn_gate"), Module.linear("mlp.up_proj", "ffn_up"), Module.linear("mlp.down_proj", "ffn_down")));
        if (qkNorm) m.addAll(List.of(Module.norm("self_attn.q_norm", "attn_q_norm"), Module.norm("self_attn.k_norm", "attn_k_norm")));
        return m;
    }

    /** Embedding, final norm and (untied) head under "model." and "lm_head", as every Llama-style family names them. */
    private static final List<Module> DECODER_GLOBALS = List.of(Module.tokens("model.embed_tokens"),
            Module.norm("model.norm", "output_norm"), Module.head("lm_head"));

    /** A family under construction, so that the table below names each switch it sets; the defaults are Llama's choices. */
    private static final class Builder {
        private final String arch, layers;
        private final List<Module> globals, block;
        private Norm norm = Norm.RMS;
        private float normOffset;
        private boolean parallelResidualKey, anyHeadDim, ropeFreqs, slidingWindowKey;
        private TiedHead tiedHead = TiedHead.OMIT;

        Builder(String arch, String layers, List<Module> globals, List<Module> block) {
            this.arch = arch;
            this.layers = layers;
            this.globals = globals;
            this.block = block;
        }

        Builder layerNorm() { norm = Norm.LAYER; return this; }
        Builder normOffset(float o) { normOffset = o; return this; }
        Builder parallelResidualKey() { parallelResidualKey = true; return this; }
        Builder tiedHead(TiedHead t) { tiedHead = t; return this; }
        Builder anyHeadDim() { anyHeadDim = true; return this; }
        Builder ropeFreqs() { ropeFreqs = true; return this; }
        Builder slidingWindowKey() { slidingWindowKey = true; return this; }

        GgufFamily build() {
            return new GgufFamily(arch, layers, globals, block, norm, normOffset, parallelResidualKey, tiedHead, anyHeadDim, ropeFreqs, slidingWindowKey);
        }
    }

    private static Builder decoder(String arch, boolean llamaRotary, boolean qkNorm) {
        return new Builder(arch, "model.layers", DECODER_GLOBALS, decoderBlock(llamaRotary, qkNorm));
    }

    /**
     * By HF {@code model_type}. What llama.cpp's converter does with each: LlamaModel (also Mistral, as arch "llama")
     * permutes q/k rows into its interleaved rotary layout; Qwen2/Qwen3/Gemma/Phi-3 use the rotate-half (NeoX) rotary
     * and keep rows; Gemma stores RMSNorm scales as 1 + weight; Phi-3 keeps its fused qkv and gate_up; GPT-NeoX's fused
     * qkv goes from per-head [q k v] to q | k | v; GPT-2's Conv1D weights are transposed to [out, in] (the model
     * already holds them so). What llama.cpp's graphs take: anyHeadDim where q/k/v are sized key_length × heads
     * (Llama, Qwen3, Gemma; the others assume head_dim = hidden / heads); rope_freqs (Llama 3.1's rope scaling) in the
     * Llama graph only; a sliding-window key in the Phi-3 graph only; the tied-head rules of {@link TiedHead}.
     */
    public static final Map<String, GgufFamily> FAMILIES = Map.of(
            "llama", decoder("llama", true, false).anyHeadDim().ropeFreqs().build(),
            "mistral", decoder("llama", true, false).anyHeadDim().ropeFreqs().build(),
            "qwen2", decoder("qwen2", false, false).build(),
            "qwen3", decoder("qwen3", false, true).anyHeadDim().build(),
            "gemma", decoder("gemma", false, false).normOffset(1).tiedHead(TiedHead.ALWAYS).anyHeadDim().build(),
            "phi3", new Builder("phi3", "model.layers", DECODER_GLOBALS, List.of(
                    Module.norm("input_layernorm", "attn_norm"),
                    Module.linear("self_attn.qkv_proj", "attn_qkv"), Module.linear("self_attn.o_proj", "attn_output"),
                    Module.norm("post_attention_layernorm", "ffn_norm"),
                    Module.linear("mlp.gate_up_proj", "ffn_up"), Module.linear("mlp.down_proj", "ffn_down")))
                    .tiedHead(TiedHead.COPY).slidingWindowKey().build(),
            "gpt_neox", new Builder("gptneox", "gpt_neox.layers", List.of(
                    Module.tokens("gpt_neox.embed_in"), Module.norm("gpt_neox.final_layer_norm", "output_norm"), Module.head("embed_out")), List.of(
                    Module.norm("input_layernorm", "attn_norm"),
                    new Module("attention.query_key_value", "attn_qkv", Kind.LINEAR, Rows.QKV_SPLIT),
                    Module.linear("attention.dense", "attn_output"),
                    Module.norm("post_attention_layernorm", "ffn_norm"),
                    Module.linear("mlp.dense_h_to_4h", "ffn_up"), Module.linear("mlp.dense_4h_to_h", "ffn_down")))
                    .layerNorm().parallelResidualKey().tiedHead(TiedHead.COPY).build(),
            "gpt2", new Builder("gpt2", "transformer.h", List.of(
                    Module.tokens("transformer.wte"), Module.table("transformer.wpe", "position_embd"),
                    Module.norm("transformer.ln_f", "output_norm"), Module.head("lm_head")), List.of(
                    Module.norm("ln_1", "attn_norm"),
                    Module.linear("attn.c_attn", "attn_qkv"), Module.linear("attn.c_proj", "attn_output"),
                    Module.norm("ln_2", "ffn_norm"),
                    Module.linear("mlp.c_fc", "ffn_up"), Module.linear("mlp.c_proj", "ffn_down")))
                    .layerNorm().build());
}
