package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.SharedFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Our forward pass against float64 references of the HF implementation (../shared/fixtures). */
class ReferenceFidelityTest {

    /** Every fixture in ../shared/fixtures. */
    static Stream<String> fixtures() {
        return Stream.of("tiny-gpt-neox", "tiny-llama", "tiny-llama-bf16", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma",
                "tiny-mistral", "tiny-gpt2");
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void logprobsMatchReference(String name) throws Exception {
        Path dir = SharedFixtures.fixture(name);
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        try (Pretrained p = Pretrained.load(dir)) {
            double[] lp = assertLogprobs(p, ref, name);
            assertEquals(ref.get("mean_nll").asDouble(), Scoring.meanNll(lp), 1e-4);
        }
    }

    /** Scores reference.json's token_ids and checks every log-prob within 1e-4; returns them. */
    static double[] assertLogprobs(Pretrained p, JsonNode ref, String name) {
        long[] ids = tokenIds(ref);
        double[] lp = Scoring.tokenLogprobs(p.model(), ids);
        for (int t = 1; t < ids.length; t++)
            assertEquals(ref.get("token_logprobs").get(t).asDouble(), lp[t], 1e-4, name + " token " + t);
        return lp;
    }

    static long[] tokenIds(JsonNode ref) {
        return longs(ref.get("token_ids"));
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }
}
