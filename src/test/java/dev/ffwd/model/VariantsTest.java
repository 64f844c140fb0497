package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.TinyModels;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Family configurations the shared fixtures do not cover (multi-query, untied heads, head_dim ≠ hidden/heads, partial
 * rotary, linear RoPE scaling, GPT-2 with bare keys, buffers and n_inner, GPT-NeoX with a sequential residual and
 * with full rotary and a tied head), against float64 references written by
 * scripts/family-variants.py from the Hugging Face forward passes.
 */
class VariantsTest {

    @TempDir Path tmp;

    static final Path SOURCE = Path.of("src/test/resources/variants");

    static Stream<String> names() {
        return Stream.of("qwen2-mqa-untied-hd16", "qwen3-gqa-hd12-tied", "phi3-partial-gqa", "gemma-hd24-untied",
                "llama-linear-rope-mqa", "gpt2-bare-ninner", "gpt-neox-sequential", "gpt-neox-rotary-full-tied");
    }

    /** Variant {@code name} as a model folder under {@code tmp}: its config and weights, and the fixtures' tokenizer. */
    static Path materialize(Path tmp, String name) throws IOException {
        Path src = SOURCE.resolve(name), dir = tmp.resolve(name);
        Files.createDirectories(dir);
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(src.resolve(f), dir.resolve(f));
        Files.copy(TinyModels.tokenizer(), dir.resolve("tokenizer.json"));
        return dir;
    }

    @ParameterizedTest
    @MethodSource("names")
    void logprobsMatchReferenceAndCacheMatchesRecompute(String name) throws Exception {
        Path dir = materialize(tmp, name);
        JsonNode ref = new ObjectMapper().readTree(SOURCE.resolve(name).resolve("reference.json").toFile());
        long[] ids = ReferenceFidelityTest.tokenIds(ref);
        try (Pretrained p = Pretrained.load(dir)) {
            ReferenceFidelityTest.assertLogprobs(p, ref, name);
            assertArrayEquals(Scoring.generate(p.model(), ids, 12, Sampling.GREEDY, 0, Set.of(), false),
                    Scoring.generate(p.model(), ids, 12, Sampling.GREEDY, 0, Set.of(), true), name + " cache");
        }
    }
}
