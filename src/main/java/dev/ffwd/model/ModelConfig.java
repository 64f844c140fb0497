package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The fields of a Hugging Face {@code config.json} that the forward pass needs, validated. Each family reads its own
 * keys ({@link Arch}) into a {@link Builder}; features it does not implement are rejected by name rather than silently
 * ignored.
 */
public record ModelConfig(
        Path source, Arch arch, String modelType,
        int vocabSize, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate,
        int maxPositions, double normEps,
        double ropeTheta, int rotaryDim, boolean parallelResidual, boolean tieEmbeddings,
        boolean attentionBias, boolean mlpBias, Act act, int typeVocabSize, RopeScaling ropeScaling, int slidingWindow,
        Dropout dropout) {

    /** MLP activations: SiLU, exact (erf) GELU, and the tanh approximation (gelu_new, gelu_pytorch_tanh). */
    public enum Act { SILU, GELU, GELU_TANH }

    /** {@code rope_scaling}: "linear" divides every frequency by factor; "llama3" is Llama 3.1's frequency-dependent scaling. */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        public RopeScaling {
            if (!type.equals("linear") && !type.equals("llama3")) throw new IllegalArgumentException("rope_scaling type " + type);
            if (!(factor > 0)) throw new IllegalArgumentException("rope_scaling factor must be positive, got " + factor);
        }

        /** Rotary frequency {@code f} as scaled: linear divides every one; Llama 3.1's scaling depends on the wavelength. */
        public double scale(double f) {
            if (type.equals("linear")) return f / factor;
            double wavelen = 2 * Math.PI / f;
            double lowWavelen = originalMaxPositions / lowFreqFactor, highWavelen = originalMaxPositions / highFreqFactor;
            if (wavelen < highWavelen) return f;
            if (wavelen > lowWavelen) return f / factor;
            double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            return (1 - smooth) * f / factor + smooth * f;
        }
    }

    /**
     * The model's own dropout in training (HF BERT's hidden_dropout_prob and attention_probs_dropout_prob): on the
     * embeddings and each sub-layer's output, and on the attention probabilities. Families that do not read it use
     * {@link #NONE}.
     */
    public record Dropout(double hidden, double attention) {
        public static final Dropout NONE = new Dropout(0, 0);

        public Dropout {
            if (!(hidden >= 0 && hidden < 1) || !(attention >= 0 && attention < 1))
                throw new IllegalArgumentException("dropout probabilities must be in [0, 1), got " + hidden + ", " + attention);
        }
    }

    public ModelConfig {
        if (dropout == null) throw new IllegalArgumentException("dropout must be set (Dropout.NONE for none)");
        for (int v : new int[]{vocabSize, hidden, layers, heads, kvHeads, headDim, intermediate, maxPositions})
            if (v <= 0) throw new FfwdException(source + ": dimensions must be positive");
        if (heads % kvHeads != 0)
            throw new FfwdException(source + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        if (rotaryDim < 0 || rotaryDim > headDim || rotaryDim % 2 != 0)
            throw new FfwdException(source + ": rotary dimension " + rotaryDim + " must be even and at most head_dim " + headDim);
        if (slidingWindow < 0) throw new FfwdException(source + ": sliding_window must not be negative");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelConfig load(Path file) {
        JsonNode n;
        try {
            n = JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read config: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) throw new FfwdException(file + ": config is not a JSON object");
        return parse(file, n);
    }

    public static ModelConfig parse(Path file, JsonNode n) {
        String type = n.path("model_type").asText(null);
        Arch arch = Arch.of(type);
        if (arch == null)
            throw new FfwdException(file + ": unsupported model_type '" + type + "'; supported: " + Arch.supported());
        Reader r = new Reader(file, n, arch, type);
        r.rejectSoftCapping();
        return arch.parser.parse(r);
    }

    public boolean causal() {
        return arch.causal;
    }

    /** A configuration of {@code arch} read from {@code source}, built field by field; {@link #build} validates it. */
    public static Builder builder(Path source, Arch arch, String modelType) {
        return new Builder(source, arch, modelType);
    }

    /**
     * Names each field a family's parser sets. Defaults: kv heads = heads, head_dim = hidden / heads, no rotary
     * embedding, sequential residual, untied head, no biases, GELU, no token types, no rope scaling, full attention,
     * no dropout.
     */
    public static final class Builder {
        private final Path source;
        private final Arch arch;
        private final String modelType;
        private int vocabSize, hidden, layers, heads, kvHeads, headDim, intermediate, maxPositions, rotaryDim, typeVocabSize, slidingWindow;
        private double normEps, ropeTheta;
        private boolean parallelResidual, tieEmbeddings, attentionBias, mlpBias;
        private Act act = Act.GELU;
        private RopeScaling ropeScaling;
        private Dropout dropout = Dropout.NONE;

        private Builder(Path source, Arch arch, String modelType) {
            this.source = source;
            this.arch = arch;
            this.modelType = modelType;
        }

        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder hidden(int v) { hidden = v; return this; }
        public Builder layers(int v) { layers = v; return this; }
        public Builder heads(int v) { heads = v; return this; }
        public Builder kvHeads(int v) { kvHeads = v; return this; }
        public Builder headDim(int v) { headDim = v; return this; }
        public Builder intermediate(int v) { intermediate = v; return this; }
        public Builder maxPositions(int v) { maxPositions = v; return this; }
        public Builder normEps(double v) { normEps = v; return this; }
        /** Rotary embedding over the first {@code dim} dimensions of each head, with base {@code theta}. */
        public Builder rope(double theta, int dim, RopeScaling scaling) { ropeTheta = theta; rotaryDim = dim; ropeScaling = scaling; return this; }
        public Builder parallelResidual(boolean v) { parallelResidual = v; return this; }
        public Builder tieEmbeddings(boolean v) { tieEmbeddings = v; return this; }
        public Builder biases(boolean attention, boolean mlp) { attentionBias = attention; mlpBias = mlp; return this; }
        public Builder act(Act v) { act = v; return this; }
        public Builder typeVocabSize(int v) { typeVocabSize = v; return this; }
        public Builder slidingWindow(int v) { slidingWindow = v; return this; }
        public Builder dropout(Dropout v) { dropout = v; return this; }

        public ModelConfig build() {
            int kv = kvHeads > 0 ? kvHeads : heads, hd = headDim > 0 ? headDim : heads > 0 ? hidden / heads : 0;
            return new ModelConfig(source, arch, modelType, vocabSize, hidden, layers, heads, kv, hd, intermediate, maxPositions, normEps,
                    ropeTheta, rotaryDim, parallelResidual, tieEmbeddings, attentionBias, mlpBias, act, typeVocabSize, ropeScaling,
                    slidingWindow, dropout);
        }
    }

    /** Reads keys with errors that name the file and the key. */
    public record Reader(Path file, JsonNode n, Arch arch, String type) {

        /** A {@link ModelConfig.Builder} for this file's family and model_type. */
        public Builder builder() {
            return ModelConfig.builder(file, arch, type);
        }

        public boolean has(String key) {
            return n.hasNonNull(key);
        }

        public int integer(String key) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) throw new FfwdException(file + ": missing required key '" + key + "'");
            if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0)
                throw new FfwdException(file + ": '" + key + "' must be a positive integer, got " + v);
            return v.asInt();
        }

        public int integer(String key, int fallback) {
            return has(key) ? integer(key) : fallback;
        }

        public double number(String key, double fallback) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) return fallback;
            if (!v.isNumber()) throw new FfwdException(file + ": '" + key + "' must be a number, got " + v);
            return v.asDouble();
        }

        public boolean bool(String key, boolean fallback) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) return fallback;
            if (!v.isBoolean()) throw new FfwdException(file + ": '" + key + "' must be true or false, got " + v);
            return v.asBoolean();
        }

        /** The activation under {@code key}, which must be one this family's HF code accepts and we implement. */
        public Act act(String key, String fallback, String... allowed) {
            String a = has(key) ? n.get(key).asText() : fallback;
            if (!Arrays.asList(allowed).contains(a))
                throw new FfwdException(file + ": " + key + " '" + a + "' is not supported for " + type + " (supported: "
                        + String.join(", ", allowed) + ")");
            return switch (a) {
                case "silu", "swish" -> Act.SILU;
                case "gelu" -> Act.GELU;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_tanh" -> Act.GELU_TANH;
                default -> throw new IllegalStateException(a);
            };
        }

        /** A field this implementation does not honour: an error naming it when it is set to anything but {@code inert}. */
        public void reject(String key, String why) {
            if (has(key)) throw new FfwdException(file + ": '" + key + "' (" + n.get(key) + ") is not supported: " + why);
        }

        public void rejectTrue(String key, String why) {
            if (bool(key, false)) throw new FfwdException(file + ": '" + key + "' = true is not supported: " + why);
        }

        /** Gemma 2-style soft-capping changes every logit; computing without it would be a different model. */
        void rejectSoftCapping() {
            reject("attn_logit_softcapping", "attention soft-capping is not implemented");
            reject("final_logit_softcapping", "logit soft-capping is not implemented");
        }

        public RopeScaling ropeScaling() {
            JsonNode s = n.get("rope_scaling");
            if (s == null || s.isNull()) return null;
            String kind = s.path("rope_type").asText(s.path("type").asText(""));
            if (kind.equals("default")) return null;
            if (!kind.equals("llama3") && !kind.equals("linear"))
                throw new FfwdException(file + ": rope_scaling type '" + kind + "' is not supported (only 'llama3' and 'linear')");
            return new RopeScaling(kind, s.path("factor").asDouble(kind.equals("llama3") ? 8 : 1), s.path("low_freq_factor").asDouble(1),
                    s.path("high_freq_factor").asDouble(4), s.path("original_max_position_embeddings").asInt(8192));
        }

        /**
         * The attention window, 0 for full attention. Sliding-window attention is not implemented, so a window is only
         * accepted because it changes nothing for sequences up to its length; longer inputs are refused at run time.
         */
        public int slidingWindow(boolean onByDefault) {
            if (!has("sliding_window") || !bool("use_sliding_window", onByDefault)) return 0;
            return integer("sliding_window");
        }
    }
}
