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
        return new StepBench.Spec(BenchModel.LLAMA_SMALL, checkpoint, 1, 8, 4, 1, 1, 1, 0, DType.F32, dev.ffwd.model.Precision.FP32, false, 256, false, false, false, true);
    }

    @Test
    void aSpecGoesToItsProcessAsWritten() throws Exception {
        ObjectMapper json = new ObjectMapper();
        StepBench.Spec s = tiny(tmp);
        assertEquals(s, json.readValue(json.writeValueAsString(s), StepBench.Spec.class));
        assertThrows(IllegalArgumentException.class, () -> new StepBench.Spec(BenchModel.LLAMA_SMALL, tmp, 0, 8, 4, 1, 1, 1, 0, DType.F32,
                dev.ffwd.model.Precision.FP32, false, 256, false, false, false, true), "an empty batch");
    }

    @Test
    void aShapeIsTimedInAJvmOfItsOwn() throws Exception {
        Path checkpoint = BenchModel.LLAMA_SMALL.cached(tmp, StepBench.SEED, DType.F32);
        JsonNode r = StepBench.inChildJvm(tiny(checkpoint), tmp, List.of());
        assertTrue(r.path("tokens_per_s").asDouble() > 0, r.toString());
        // one pair: its share is its own step rate over the sgemm measured before it
        assertEquals(r.path("gflops").asDouble() / r.path("sgemm_gflops").asDouble(), r.path("sgemm_share_median").asDouble(), 1e-9);
        assertTrue(r.path("ours_peak_rss_mb").asDouble() > 0, r.toString());
        assertEquals(0, r.path("pairs").asInt(), "no PyTorch pairs asked");
        assertEquals("fp32", r.path("precision").asText());
        double perPass = r.path("eval_ms").asDouble(), perStep = r.path("step_ms").asDouble();
        assertTrue(perPass > 0 && perStep > 0, r.toString());
        assertEquals(perPass / perStep, r.path("eval_over_step_median").asDouble(), 1e-9, "one pair: the median is that pair's ratio");
        assertTrue(r.path("pytorch_tokens_per_s").isNull(), "JSON has no NaN: unmeasured is null");
    }

    /**
     * Resident memory stays flat over many steps: after a warm-up and 100 steps to settle, 100 more steps of batch 1 × 8
     * may not grow the settled RSS by more than 5% (the bench's leak check, which fails its JVM otherwise). A step's
     * temporaries left outside their scope (its 8 × 32,000 logits alone are 1 MB) would cross that within a few dozen steps.
     */
    @Test
    void residentMemoryStaysFlatOverManySteps() throws Exception {
        Path checkpoint = BenchModel.LLAMA_SMALL.cached(tmp, StepBench.SEED, DType.F32);
        StepBench.Spec s = new StepBench.Spec(BenchModel.LLAMA_SMALL, checkpoint, 1, 8, 4, 1, 1, 1, 200, DType.F32,
                dev.ffwd.model.Precision.FP32, false, 256, false, false, false, true);
        JsonNode r = StepBench.inChildJvm(s, tmp, List.of());
        assertTrue(r.path("leak_growth_percent").isNumber(), r.toString());
        assertTrue(r.path("leak_growth_percent").asDouble() <= 5, r.toString());
    }

    /** The demo's shape times the demo's step: LoRA on MiniLM's query/key/value and a two-class head, no language-model loss. */
    @Test
    void theDemosShapeTimesItsClassifier() throws Exception {
        Path checkpoint = BenchModel.MINILM_DEMO.cached(tmp, StepBench.SEED, DType.F32);
        long[][] ids = Benchmark.batch(2, 16, BenchModel.MINILM_DEMO.config.vocabSize(), 2, tmp.resolve("batch.json"));
        try (Benchmark.Session s = new Benchmark.Session(checkpoint, BenchModel.MINILM_DEMO, ids, 8, 16, dev.ffwd.train.TrainConfig.Memory.defaults(), dev.ffwd.model.Precision.FP32)) {
            Benchmark.Result r = s.time(1);
            assertEquals(Math.log(2), r.loss(), 0.1, "a fresh two-class head's cross-entropy");
            assertEquals(List.of("query", "key", "value"), BenchModel.MINILM_DEMO.targets);
            double perStep = s.flops.trainStep(2, 16).exact();
            assertEquals(perStep, new dev.ffwd.flops.FlopCounter(BenchModel.MINILM_DEMO.config,
                    new dev.ffwd.lora.LoraConfig(8, 16, 0, BenchModel.MINILM_DEMO.targets, false), 2).trainStep(2, 16).exact(), 0,
                    "counted as the demo's classifier");
            assertTrue(r.gflops() > 0);
            Benchmark.Result e = s.timeEval(2);
            assertEquals(Math.log(2), e.loss(), 0.1, "a test-loss pass over the same batch, one small step later");
            assertEquals(s.flops.forward(s.examples), e.gflops() * 1e9 * e.stepMs() / 1e3, 1e-6 * s.flops.forward(s.examples),
                    "its rate counts one forward pass's FLOPs");
        }
    }
}
