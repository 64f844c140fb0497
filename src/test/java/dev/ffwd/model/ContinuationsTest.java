package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.SharedFixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * {@code ffwd generate --greedy --ignore-eos}, with the KV cache and without, against float64 greedy continuations
 * (src/test/resources/continuations.json, written by the command in its "command" field: scripts/continuations.py, a
 * numpy transcription of the Hugging Face forward passes, checked there against every reference.json). Each prompt
 * was chosen so that every step's best logit beats the second by more than the file's min_margin, well above fp32 error.
 */
class ContinuationsTest {

    private static final JsonNode MODELS;

    static {
        try {
            MODELS = new ObjectMapper().readTree(Path.of("src/test/resources/continuations.json").toFile()).get("models");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @TempDir Path tmp;

    @ParameterizedTest
    @MethodSource("dev.ffwd.model.ReferenceFidelityTest#fixtures")
    void sharedFixturesContinueLikeTheReference(String name) throws Exception {
        assertContinuation(SharedFixtures.fixture(name), name);
    }

    @ParameterizedTest
    @MethodSource("dev.ffwd.model.VariantsTest#names")
    void variantsContinueLikeTheReference(String name) throws Exception {
        assertContinuation(VariantsTest.materialize(tmp, name), name);
    }

    private static void assertContinuation(Path dir, String name) throws Exception {
        JsonNode ref = MODELS.get(name);
        assertNotNull(ref, "continuations.json has no " + name);
        long[] expected = ReferenceFidelityTest.longs(ref.get("generated_ids"));
        String args = "--model=" + dir + " --token-ids=" + join(ref.get("prompt")) + " --max-new-tokens=" + expected.length
                + " --greedy --ignore-eos --json";
        String margins = " (float64 margins " + join(ref.get("margins")) + ")";
        assertArrayEquals(expected, GenerationTest.generatedIds(args), name + " with the KV cache" + margins);
        assertArrayEquals(expected, GenerationTest.generatedIds(args + " --no-cache"), name + " with --no-cache" + margins);
    }

    private static String join(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).collect(Collectors.joining(","));
    }
}
