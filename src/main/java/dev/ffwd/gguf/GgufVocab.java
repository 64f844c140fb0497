package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.model.Eos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer metadata of a GGUF model, from a Hugging Face model folder's tokenizer.json (with tokenizer_config.json
 * and config.json for the special tokens), under llama.cpp's {@code tokenizer.ggml.*} keys. llama.cpp needs a
 * vocabulary with one token per row of the embedding even when a caller feeds token ids.
 *
 * <ul>
 * <li>Byte-level BPE (GPT-2, Llama 3, Qwen): llama.cpp's "gpt2" model with the merges; {@code tokenizer.ggml.pre}
 * names llama.cpp's pre-tokenizer whose split regex equals tokenizer.json's ({@link #PRE_TOKENIZERS}).</li>
 * <li>SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma): llama.cpp's "llama" (SPM) model, which
 * merges the adjacent pair whose joined token scores highest; each token scores minus the rank of the first merge
 * that makes it, so the order is HF's merge order, and "&lt;0xXX&gt;" tokens are typed as bytes.</li>
 * <li>Word-level (the test fixtures'): a "gpt2" vocabulary without merges. llama.cpp loads it and evaluates token ids;
 * it cannot tokenize text with it.</li>
 * </ul>
 */
public record GgufVocab(String model, String pre, List<String> tokens, int[] types, float[] scores, List<String> merges,
                        boolean wordLevel, int bos, int eos, boolean addBos, Boolean addSpacePrefix) {

    /** llama.cpp's token types (llama_token_type). */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /**
     * tokenizer.json's pre-tokenizer split regex → llama.cpp's pre-tokenizer with the same regex (llama-vocab.cpp's
     * LLAMA_VOCAB_PRE_TYPE_*, named as tokenizer.ggml.pre spells them).
     */
    static final Map<String, String> PRE_TOKENIZERS = Map.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2");

    public GgufVocab {
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        if (types.length != tokens.size() || (scores != null && scores.length != tokens.size()))
            throw new IllegalArgumentException("token types and scores must match the " + tokens.size() + " tokens");
        if (bos >= tokens.size() || eos >= tokens.size()) throw new IllegalArgumentException("bos " + bos + " / eos " + eos + " outside the vocabulary");
        types = types.clone();
        scores = scores == null ? null : scores.clone();
    }

    @Override
    public int[] types() {
        return types.clone();
    }

    @Override
    public float[] scores() {
        return scores == null ? null : scores.clone();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads {@code modelDir}'s tokenizer; the vocabulary is padded with unused placeholder tokens up to
     * {@code vocabSize} (the rows of the embedding), as llama.cpp's converter pads it.
     */
    public static GgufVocab read(Path modelDir, int vocabSize) {
        Path file = modelDir.resolve("tokenizer.json");
        JsonNode t = json(file, true);
        JsonNode m = t.path("model");
        String kind = m.path("type").asText("");
        JsonNode vocab = m.path("vocab");
        if (!vocab.isObject())
            throw new FfwdException(file + ": tokenizer model '" + kind + "' has no token→id vocabulary; GGUF export takes WordLevel and BPE tokenizers");
        String[] byId = new String[vocabSize];
        int[] types = new int[vocabSize];
        vocab.fields().forEachRemaining(e -> put(file, byId, types, e.getKey(), e.getValue().asInt(-1), NORMAL));
        for (JsonNode a : t.path("added_tokens"))
            put(file, byId, types, a.path("content").asText(), a.path("id").asInt(-1), a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED);
        String unk = m.path("unk_token").asText(null);
        Map<String, Integer> ids = new HashMap<>();
        List<String> tokens = new ArrayList<>(vocabSize);
        for (int i = 0; i < vocabSize; i++) {
            if (byId[i] == null) {
                byId[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            } else if (byId[i].equals(unk)) {
                types[i] = UNKNOWN;
            }
            tokens.add(byId[i]);
            ids.putIfAbsent(byId[i], i);
        }
        JsonNode tokCfg = json(modelDir.resolve("tokenizer_config.json"), false), cfg = json(modelDir.resolve("config.json"), false);
        int bos = special(cfg, "bos_token_id", tokCfg, "bos_token", ids);
        int eos = Eos.of(modelDir).stream().findFirst().map(Long::intValue).filter(i -> i < vocabSize).orElse(-1);
        // HF adds a BOS when its post-processor template starts with one (else as tokenizer_config.json says)
        JsonNode first = t.path("post_processor").path("single").path(0).path("SpecialToken").path("id");
        boolean addBos = first.isTextual() ? ids.containsKey(first.asText()) : tokCfg.path("add_bos_token").asBoolean(false);
        if (first.isTextual() && ids.containsKey(first.asText())) bos = ids.get(first.asText());

        if (kind.equals("WordLevel"))
            return new GgufVocab("gpt2", "default", tokens, types, null, List.of(), true, bos, eos, addBos, null);
        if (!kind.equals("BPE"))
            throw new FfwdException(file + ": tokenizer model '" + kind + "' is not supported for GGUF export (BPE and WordLevel are)");
        List<String> merges = new ArrayList<>();
        for (JsonNode mg : m.path("merges"))  // "a b" in older files, ["a", "b"] in newer ones
            merges.add(mg.isArray() ? mg.get(0).asText() + " " + mg.get(1).asText() : mg.asText());
        String pretok = t.path("pre_tokenizer").toString();
        if (pretok.contains("\"ByteLevel\""))
            return new GgufVocab("gpt2", preTokenizer(file, t.path("pre_tokenizer")), tokens, types, null, merges, false, bos, eos, addBos, null);
        if (!m.path("byte_fallback").asBoolean(false))
            throw new FfwdException(file + ": BPE tokenizer that is neither byte-level nor SentencePiece-style (byte_fallback); llama.cpp has no tokenizer for it");
        // SentencePiece-style: score = -(rank of the first merge making the token); bytes typed as such
        float[] scores = new float[vocabSize];
        java.util.Arrays.fill(scores, 0f);
        boolean[] scored = new boolean[vocabSize];
        for (int r = 0; r < merges.size(); r++) {
            String mg = merges.get(r);
            Integer id = ids.get(mg.replaceFirst(" ", ""));
            if (id != null && !scored[id]) {
                scores[id] = -r - 1;
                scored[id] = true;
            }
        }
        for (int i = 0; i < vocabSize; i++) if (types[i] == NORMAL && tokens.get(i).matches("<0x[0-9A-F]{2}>")) types[i] = BYTE;
        // llama.cpp's SPM prepends "▁" unless told not to; HF does so only with a Prepend normaliser (Llama 2, not Gemma)
        boolean prepend = t.path("normalizer").toString().contains("\"Prepend\"");
        return new GgufVocab("llama", "default", tokens, types, scores, List.of(), false, bos, eos, addBos, prepend);
    }

    /** llama.cpp's name for the byte-level pre-tokenizer: GPT-2's own regex, or the Split regex's match in {@link #PRE_TOKENIZERS}. */
    static String preTokenizer(Path file, JsonNode pre) {
        List<String> regexes = new ArrayList<>();
        boolean byteLevelRegex = false;
        List<JsonNode> parts = new ArrayList<>();
        if (pre.path("type").asText().equals("Sequence")) pre.path("pretokenizers").forEach(parts::add);
        else parts.add(pre);
        for (JsonNode p : parts) {
            if (p.path("type").asText().equals("Split") && p.path("pattern").has("Regex")) regexes.add(p.path("pattern").path("Regex").asText());
            if (p.path("type").asText().equals("ByteLevel") && p.path("use_regex").asBoolean(true)) byteLevelRegex = true;
        }
        if (regexes.isEmpty() && byteLevelRegex) return "gpt-2";
        if (regexes.size() == 1 && !byteLevelRegex && PRE_TOKENIZERS.containsKey(regexes.get(0))) return PRE_TOKENIZERS.get(regexes.get(0));
        System.err.println("note: " + file + ": llama.cpp has no pre-tokenizer known to split as this one does; it will split text by its "
                + "default rules (token ids evaluate the same, text may tokenize differently)");
        return "default";
    }

    private static int special(JsonNode cfg, String idKey, JsonNode tokCfg, String tokenKey, Map<String, Integer> ids) {
        if (cfg.path(idKey).isIntegralNumber() && cfg.path(idKey).asInt() >= 0 && cfg.path(idKey).asInt() < ids.size()) return cfg.path(idKey).asInt();
        JsonNode tok = tokCfg.path(tokenKey);
        String text = tok.isTextual() ? tok.asText() : tok.path("content").asText(null);
        return text != null && ids.containsKey(text) ? ids.get(text) : -1;
    }

    private static void put(Path file, String[] byId, int[] types, String token, int id, int type) {
        if (id < 0 || id >= byId.length)
            throw new FfwdException(file + ": token '" + token + "' has id " + id + ", outside the model's vocab_size " + byId.length);
        byId[id] = token;
        types[id] = type;
    }

    private static JsonNode json(Path file, boolean required) {
        if (!Files.isRegularFile(file)) {
            if (required) throw new FfwdException(file + ": not found (GGUF export writes the tokenizer into the model)");
            return JSON.missingNode();
        }
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /**
     * Writes the model's name and the tokenizer keys. The name is left out with a word-level vocabulary: llama.cpp
     * adjusts token attributes by model name (a name containing "phi3" makes it look up "&lt;unk&gt;", "&lt;s&gt;" and
     * "&lt;|endoftext|&gt;" by text, and fail without them), and those adjustments are for the original tokenizer,
     * which a word-level vocabulary is not.
     */
    void write(GgufWriter w, String name) {
        if (!wordLevel) w.string("general.name", name);
        w.string("tokenizer.ggml.model", model);
        w.string("tokenizer.ggml.pre", pre);
        w.strings("tokenizer.ggml.tokens", tokens);
        w.int32s("tokenizer.ggml.token_type", types);
        if (scores != null) w.float32s("tokenizer.ggml.scores", scores);
        if (model.equals("gpt2")) w.strings("tokenizer.ggml.merges", merges);  // llama.cpp requires the key for "gpt2", even empty
        int unk = java.util.Arrays.stream(types).boxed().toList().indexOf(UNKNOWN);
        if (unk >= 0) w.uint32("tokenizer.ggml.unknown_token_id", unk);
        if (bos >= 0) w.uint32("tokenizer.ggml.bos_token_id", bos);
        if (eos >= 0) w.uint32("tokenizer.ggml.eos_token_id", eos);
        w.bool("tokenizer.ggml.add_bos_token", addBos);
        if (addSpacePrefix != null) w.bool("tokenizer.ggml.add_space_prefix", addSpacePrefix);
    }
}
