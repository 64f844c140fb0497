package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The fields of a Hugging Face {@code config.json} that the forward pass needs, validated. */
public record ModelConfig(
        Path source, Arch arch, String modelType,
        int vocabSize, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate,
        int maxPositions, double normEps,
        double ropeTheta, int rotaryDim, boolean parallelResidual, boolean tieEmbeddings,
        boolean attentionBias, boolean mlpBias, String hiddenAct, int typeVocabSize, Rope3 llama3Rope) {

    /** Llama 3.1 {@code rope_scaling} of type "llama3". */
    public record Rope3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {}

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
        Reader r = new Reader(file, n);
        int hidden = r.integer("hidden_size");
        int heads = r.integer("num_attention_heads");
        if (hidden % heads != 0 && !n.has("head_dim"))
            throw new FfwdException(file + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        int headDim = n.has("head_dim") ? r.integer("head_dim") : hidden / heads;
        int kvHeads = n.has("num_key_value_heads") ? r.integer("num_key_value_heads") : heads;
        if (heads % kvHeads != 0)
            throw new FfwdException(file + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        return switch (arch) {
            case GPT_NEOX -> {
                double pct = n.path("rotary_pct").asDouble(1.0);
                if (n.has("partial_rotary_factor")) pct = n.get("partial_rotary_factor").asDouble();
                yield new ModelConfig(file, arch, type, r.integer("vocab_size"), hidden, r.integer("num_hidden_layers"),
                        heads, heads, headDim, r.integer("intermediate_size"), r.integer("max_position_embeddings"),
                        n.path("layer_norm_eps").asDouble(1e-5), n.path("rotary_emb_base").asDouble(n.path("rope_theta").asDouble(10000)),
                        (int) (headDim * pct), n.path("use_parallel_residual").asBoolean(true),
                        n.path("tie_word_embeddings").asBoolean(false), n.path("attention_bias").asBoolean(true), true,
                        r.act("gelu"), 0, null);
            }
            case LLAMA -> {
                if (n.path("sliding_window").isInt() && n.path("use_sliding_window").asBoolean(true) && type.equals("mistral"))
                    System.err.println("warning: " + file + ": sliding_window is ignored; full attention is used");
                yield new ModelConfig(file, arch, type, r.integer("vocab_size"), hidden, r.integer("num_hidden_layers"),
                        heads, kvHeads, headDim, r.integer("intermediate_size"), n.path("max_position_embeddings").asInt(2048),
                        n.path("rms_norm_eps").asDouble(1e-6), n.path("rope_theta").asDouble(10000), headDim, false,
                        n.path("tie_word_embeddings").asBoolean(false), n.path("attention_bias").asBoolean(false),
                        n.path("mlp_bias").asBoolean(false), r.act("silu"), 0, r.llama3Rope());
            }
            case BERT -> new ModelConfig(file, arch, type, r.integer("vocab_size"), hidden, r.integer("num_hidden_layers"),
                    heads, heads, headDim, r.integer("intermediate_size"), n.path("max_position_embeddings").asInt(512),
                    n.path("layer_norm_eps").asDouble(1e-12), 0, 0, false, false, true, true, r.act("gelu"),
                    n.path("type_vocab_size").asInt(2), null);
        };
    }

    public boolean causal() {
        return arch.causal;
    }

    /** Reads required keys with errors that name the file and the key. */
    private record Reader(Path file, JsonNode n) {
        int integer(String key) {
            JsonNode v = n.get(key);
            if (v == null) throw new FfwdException(file + ": missing required key '" + key + "'");
            if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0)
                throw new FfwdException(file + ": '" + key + "' must be a positive integer, got " + v);
            return v.asInt();
        }

        String act(String expected) {
            String a = n.path("hidden_act").asText(n.path("hidden_activation").asText(expected));
            boolean ok = expected.equals("silu") ? a.equals("silu") || a.equals("swish") : a.equals("gelu");
            if (!ok) throw new FfwdException(file + ": hidden_act '" + a + "' is not supported for " + n.path("model_type").asText()
                    + " (expected '" + expected + "')");
            return a;
        }

        Rope3 llama3Rope() {
            JsonNode s = n.get("rope_scaling");
            if (s == null || s.isNull()) return null;
            String type = s.path("rope_type").asText(s.path("type").asText(""));
            if (!type.equals("llama3"))
                throw new FfwdException(file + ": rope_scaling type '" + type + "' is not supported (only 'llama3')");
            return new Rope3(s.path("factor").asDouble(8), s.path("low_freq_factor").asDouble(1),
                    s.path("high_freq_factor").asDouble(4), s.path("original_max_position_embeddings").asInt(8192));
        }
    }
}
