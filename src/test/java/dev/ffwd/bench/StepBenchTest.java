package dev.ffwd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A shape's measurement is a record that its own JVM reads back as written, and runs there. */
class StepBenchTest {

    @TempDir Path tmp;

    StepBench.Spec tiny(Path checkpoint) {
        return new StepBench.Spec(BenchModel.LLAMA_SMALL, checkpoint, 1, 8, 4, 1, 1, 1, 0, DType.F32, 256, false, false, false, 50, true);
    }

    @Test
    void aSpecGoesToItsProcessAsWritten() throws Exception {
        ObjectMapper json = new ObjectMapper();
        StepBench.Spec s = tiny(tmp);
        assertEquals(s, json.readValue(json.writeValueAsString(s), StepBench.Spec.class));
        assertThrows(IllegalArgumentException.class, () -> new StepBench.Spec(BenchModel.LLAMA_SMALL, tmp, 0, 8, 4, 1, 1, 1, 0, DType.F32,
                256, false, false, false, 50, true), "an empty batch");
    }

    @Test
    void aShapeIsTimedInAJvmOfItsOwn() throws Exception {
        Path checkpoint = BenchModel.LLAMA_SMALL.cached(tmp, StepBench.SEED, DType.F32);
        JsonNode r = StepBench.inChildJvm(tiny(checkpoint), tmp, List.of());
        assertTrue(r.path("tokens_per_s").asDouble() > 0, r.toString());
        assertEquals(r.path("gflops").asDouble() / 50, r.path("sgemm_share").asDouble(), 1e-12);
        assertTrue(r.path("ours_peak_rss_mb").asDouble() > 0, r.toString());
        assertEquals(0, r.path("pairs").asInt(), "no PyTorch pairs asked");
        assertEquals("fp32", r.path("precision").asText());
        assertTrue(r.path("pytorch_tokens_per_s").isNull(), "JSON has no NaN: unmeasured is null");
    }
}
