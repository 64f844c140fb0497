package dev.ffwd.bench;

import dev.ffwd.io.DType;
import dev.ffwd.model.RandomCheckpoint;
import dev.ffwd.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class StepProfileTest {

    @TempDir Path tmp;

    /** Self time is an op's duration less its children's; nested ops are not counted twice; the rest is outside the ops. */
    @Test
    void selfTimesOfANestedTrace() throws Exception {
        Path trace = tmp.resolve("t.json");
        Files.writeString(trace, """
                {"traceEvents": [
                  {"name": "aten::linear", "ph": "X", "ts": 0, "dur": 100, "pid": 1, "tid": 1},
                  {"name": "aten::t", "ph": "X", "ts": 1, "dur": 4, "pid": 1, "tid": 1},
                  {"name": "aten::addmm", "ph": "X", "ts": 10, "dur": 80, "pid": 1, "tid": 1},
                  {"name": "aten::copy_", "ph": "X", "ts": 20, "dur": 30, "pid": 1, "tid": 1},
                  {"name": "aten::gelu", "ph": "X", "ts": 150, "dur": 50, "pid": 1, "tid": 1},
                  {"name": "aten::add_", "ph": "X", "ts": 0, "dur": 20, "pid": 1, "tid": 2},
                  {"name": "aten::bernoulli_", "ph": "X", "ts": 30, "dur": 6, "pid": 1, "tid": 2},
                  {"name": "aten::mm", "ph": "i", "ts": 0, "pid": 1, "tid": 1}
                ]}""");
        StepProfile p = StepProfile.of(trace, 2, 0.6);  // 2 steps in 0.6 ms: 300 µs per step
        var ms = p.selfMs();
        assertEquals(0.3, p.wallMs(), 1e-12);
        assertEquals((16 + 50) / 2e3, ms.get("matrix products (frozen and LoRA)"), 1e-12, "linear 100-4-80, addmm 80-30");
        assertEquals((4 + 30) / 2e3, ms.get("copies and layout"), 1e-12);
        assertEquals(50 / 2e3, ms.get("activations"), 1e-12);
        assertEquals(20 / 2e3, ms.get("element-wise and reductions"), 1e-12, "another thread's op");
        assertEquals(6 / 2e3, ms.get("dropout masks (random draws)"), 1e-12);
        assertEquals(0.3 - 176 / 2e3, ms.get(StepProfile.OUTSIDE), 1e-12);
        assertEquals(StepProfile.categories(), java.util.List.copyOf(ms.keySet()));
    }

    /** A real step of a small generated Llama, under libtorch's profiler: matrix products dominate, and the parts add up. */
    @Test
    void aRealStepIsMostlyMatrixProducts() throws Exception {
        RandomCheckpoint.write(tmp, BenchModel.LLAMA_SMALL.configJson, 1, DType.F32);
        long[][] ids = Benchmark.batch(2, 32, 32000, 2, tmp.resolve("batch.json"));
        try (Benchmark.Session s = new Benchmark.Session(tmp, BenchModel.LLAMA_SMALL, ids, 8, 16, TrainConfig.Memory.defaults(), dev.ffwd.model.Precision.FP32)) {
            StepProfile p = s.profile(2, tmp.resolve("trace.json"));
            double sum = p.selfMs().values().stream().mapToDouble(Double::doubleValue).sum();
            assertEquals(p.wallMs(), sum, 1e-6 * p.wallMs(), "the categories and the time outside the ops make up the step");
            assertTrue(p.selfMs().get("matrix products (frozen and LoRA)") > 0.2 * p.wallMs(), p.table());
            assertTrue(p.table().contains("| **the step (wall, profiled)** |"), p.table());
        }
    }
}
