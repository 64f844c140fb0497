package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tokenizer metadata of a GGUF model, from a Hugging Face tokenizer.json: the tokens by id, their types, and the
 * merges, under llama.cpp's {@code tokenizer.ggml.*} keys. llama.cpp needs a vocabulary with one token per row of the
 * embedding even when a caller feeds token ids.
 *
 * <p>A word-level vocabulary (the kind llama.cpp cannot tokenize with) is written as a "gpt2" vocabulary without
 * merges: llama.cpp loads it and evaluates token ids, and its own tokenizer would fall back to single characters, so
 * text should be tokenized by the caller. A byte-level BPE vocabulary is written with its merges, so llama.cpp
 * tokenizes as the original does up to its pre-tokenizer regex ({@code tokenizer.ggml.pre}).
 */
public record GgufVocab(String model, String pre, List<String> tokens, int[] types, List<String> merges, boolean wordLevel) {

    /** llama.cpp's token types (llama_token_type). */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

    public GgufVocab {
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        if (types.length != tokens.size()) throw new IllegalArgumentException(types.length + " token types for " + tokens.size() + " tokens");
        types = types.clone();
    }

    @Override
    public int[] types() {
        return types.clone();
    }

    /**
     * Reads {@code file}; the vocabulary is padded with unused placeholder tokens up to {@code vocabSize} (the rows of
     * the embedding), as llama.cpp's converter pads it.
     */
    public static GgufVocab read(Path file, int vocabSize) {
        JsonNode t;
        try {
            t = new ObjectMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read tokenizer: " + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode m = t.path("model");
        String kind = m.path("type").asText("");
        JsonNode vocab = m.path("vocab");
        if (!vocab.isObject())
            throw new FfwdException(file + ": tokenizer model '" + kind + "' has no token→id vocabulary; GGUF export takes WordLevel and byte-level BPE tokenizers");
        String[] byId = new String[vocabSize];
        int[] types = new int[vocabSize];
        vocab.fields().forEachRemaining(e -> put(file, byId, types, e.getKey(), e.getValue().asInt(-1), NORMAL));
        for (JsonNode a : t.path("added_tokens"))
            put(file, byId, types, a.path("content").asText(), a.path("id").asInt(-1), a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED);
        String unk = m.path("unk_token").asText(null);
        List<String> tokens = new ArrayList<>(vocabSize);
        for (int i = 0; i < vocabSize; i++) {
            if (byId[i] == null) {
                byId[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            } else if (byId[i].equals(unk)) {
                types[i] = UNKNOWN;
            }
            tokens.add(byId[i]);
        }
        return switch (kind) {
            case "WordLevel" -> new GgufVocab("gpt2", "default", tokens, types, List.of(), true);
            case "BPE" -> {
                if (!t.path("pre_tokenizer").toString().contains("ByteLevel"))
                    throw new FfwdException(file + ": BPE tokenizer without a ByteLevel pre-tokenizer (SentencePiece-style BPE); GGUF export takes byte-level BPE only");
                List<String> merges = new ArrayList<>();
                for (JsonNode mg : m.path("merges"))  // "a b" in older files, ["a", "b"] in newer ones
                    merges.add(mg.isArray() ? mg.get(0).asText() + " " + mg.get(1).asText() : mg.asText());
                yield new GgufVocab("gpt2", "default", tokens, types, merges, false);
            }
            default -> throw new FfwdException(file + ": tokenizer model '" + kind + "' is not supported for GGUF export (WordLevel and byte-level BPE are)");
        };
    }

    private static void put(Path file, String[] byId, int[] types, String token, int id, int type) {
        if (id < 0 || id >= byId.length)
            throw new FfwdException(file + ": token '" + token + "' has id " + id + ", outside the model's vocab_size " + byId.length);
        byId[id] = token;
        types[id] = type;
    }

    /** With llama.cpp's pre-tokenizer name {@code pre} (e.g. "llama-bpe", "qwen2"). */
    public GgufVocab withPre(String pre) {
        return new GgufVocab(model, pre, tokens, types, merges, wordLevel);
    }

    /**
     * Writes the model's name and the tokenizer keys; {@code bos}, {@code eos} are token ids or -1 for none. The name
     * is left out with a word-level vocabulary: llama.cpp adjusts token attributes by model name (a name containing
     * "phi3" makes it look up "&lt;unk&gt;", "&lt;s&gt;" and "&lt;|endoftext|&gt;" by text, and fail without them), and
     * those adjustments are for the original tokenizer, which a word-level vocabulary is not.
     */
    void write(GgufWriter w, String name, int bos, int eos) {
        if (!wordLevel) w.string("general.name", name);
        w.string("tokenizer.ggml.model", model);
        w.string("tokenizer.ggml.pre", pre);
        w.strings("tokenizer.ggml.tokens", tokens);
        w.int32s("tokenizer.ggml.token_type", types);
        w.strings("tokenizer.ggml.merges", merges);  // llama.cpp requires the key for "gpt2" even when it is empty
        int unk = Arrays.stream(types).boxed().toList().indexOf(UNKNOWN);
        if (unk >= 0) w.uint32("tokenizer.ggml.unknown_token_id", unk);
        if (bos >= 0) w.uint32("tokenizer.ggml.bos_token_id", bos);
        if (eos >= 0) w.uint32("tokenizer.ggml.eos_token_id", eos);
    }
}
