package dev.ffwd.gguf;

import dev.ffwd.model.Arch;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How one Hugging Face model family is laid out in llama.cpp's GGUF: llama.cpp's architecture name, which HF module
 * becomes which llama.cpp tensor, how rows are reordered on the way, and the few conventions that differ between
 * families (RMSNorm or LayerNorm, Gemma's norm offset, GPT-NeoX's parallel residual). Both exports read it: the full
 * model ({@link ModelToGguf}) writes every tensor listed here, the adapter export ({@link LoraToGguf}) the linear ones.
 *
 * <p>Each family declares its own ({@link Arch#gguf}, in {@code model/<Family>.java}), with the names of llama.cpp's
 * gguf-py ({@code constants.py} MODEL_ARCH_NAMES and TENSOR_NAMES, {@code tensor_mapping.py}) and
 * {@code src/llama-arch.cpp} and the reorderings of {@code convert_hf_to_gguf.py}; this file holds what they share.
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

        public static Module linear(String hf, String gguf) {
            return new Module(hf, gguf, Kind.LINEAR, Rows.KEEP);
        }

        public static Module norm(String hf, String gguf) {
            return new Module(hf, gguf, Kind.NORM, Rows.KEEP);
        }

        public static Module table(String hf, String gguf) {
            return new Module(hf, gguf, Kind.TABLE, Rows.KEEP);
        }

        public static Module tokens(String hf) {
            return new Module(hf, "token_embd", Kind.TOKENS, Rows.KEEP);
        }

        public static Module head(String hf) {
            return new Module(hf, "output", Kind.HEAD, Rows.KEEP);
        }

        /** This linear layer with its rows written in llama.cpp's {@code rows} order. */
        public Module reordered(Rows rows) {
            return new Module(hf, gguf, kind, rows);
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

    /**
     * A family's layout under construction, so that its declaration ({@code model/<Family>.java}) names each switch it
     * sets; the defaults are Llama's choices: RMSNorm, no norm offset, a tied head omitted, head_dim = hidden / heads,
     * no rope_freqs, no sliding-window key.
     */
    public static final class Builder {
        private final String arch, layers;
        private final List<Module> globals, block;
        private Norm norm = Norm.RMS;
        private float normOffset;
        private boolean parallelResidualKey, anyHeadDim, ropeFreqs, slidingWindowKey;
        private TiedHead tiedHead = TiedHead.OMIT;

        /** {@code arch}: llama.cpp's architecture name; {@code layers}: the HF path of the blocks, before ".N.". */
        public Builder(String arch, String layers, List<Module> globals, List<Module> block) {
            this.arch = arch;
            this.layers = layers;
            this.globals = globals;
            this.block = block;
        }

        public Builder layerNorm() { norm = Norm.LAYER; return this; }
        public Builder normOffset(float o) { normOffset = o; return this; }
        public Builder parallelResidualKey() { parallelResidualKey = true; return this; }
        public Builder tiedHead(TiedHead t) { tiedHead = t; return this; }
        /** llama.cpp's graph sizes q/k/v as key_length × heads, so head_dim may differ from hidden / heads. */
        public Builder anyHeadDim() { anyHeadDim = true; return this; }
        /** llama.cpp's graph applies rope_freqs (how Llama 3.1's rope scaling reaches it). */
        public Builder ropeFreqs() { ropeFreqs = true; return this; }
        /** llama.cpp's graph reads the sliding-window key. */
        public Builder slidingWindowKey() { slidingWindowKey = true; return this; }

        public GgufFamily build() {
            return new GgufFamily(arch, layers, globals, block, norm, normOffset, parallelResidualKey, tiedHead, anyHeadDim, ropeFreqs, slidingWindowKey);
        }
    }

    /**
     * By HF {@code model_type}, the layout of every family that declares one ({@link Arch#gguf}). Read from
     * {@link Arch#ALL} on each use rather than copied when this class initialises, since the families create their
     * GgufFamily while {@link Arch#ALL} is being built.
     */
    public static final Map<String, GgufFamily> FAMILIES = new AbstractMap<>() {
        @Override
        public Set<Entry<String, GgufFamily>> entrySet() {
            Map<String, GgufFamily> byType = new LinkedHashMap<>();
            for (Arch a : Arch.ALL) if (a.gguf != null) for (String t : a.modelTypes) byType.put(t, a.gguf);
            return Collections.unmodifiableMap(byType).entrySet();
        }
    };
}
