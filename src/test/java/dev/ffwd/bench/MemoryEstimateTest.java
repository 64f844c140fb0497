package dev.ffwd.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.DType;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.RandomCheckpoint;
import dev.ffwd.model.Transformer;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The benchmark's up-front memory estimate: its frozen part is what the model holds, and checkpointing shrinks the rest. */
class MemoryEstimateTest {

    @TempDir Path tmp;

    static ModelConfig config(BenchModel bm) throws Exception {
        return ModelConfig.parse(Path.of("config.json"), new ObjectMapper().readTree(bm.configJson));
    }

    /** A generated 2-byte llama_small holds exactly the frozen bytes the estimate counts ({@link Transformer#frozenBytes}). */
    @Test
    void frozenPartIsWhatTheLoadedModelHolds() throws Exception {
        for (DType dtype : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            Path dir = tmp.resolve(dtype.name());
            RandomCheckpoint.write(dir, BenchModel.LLAMA_SMALL.configJson, 1, dtype);
            ModelConfig c = ModelConfig.load(dir.resolve("config.json"));
            try (TensorStore s = SafetensorsReader.open(dir.resolve("model.safetensors"));
                 Transformer m = Pretrained.build(c, s, NDManager.newBaseManager())) {
                MemoryEstimate e = MemoryEstimate.of(c, dtype, new LoraConfig(8, 16, 0, BenchModel.LLAMA_SMALL.targets, false), 1, 16, 256, false);
                assertEquals(m.frozenBytes(), e.frozen(), dtype.name());
            }
        }
    }

    /**
     * Llama-3-8B in BF16 at batch 1 × 256, r=64 on q/k/v/o: frozen weights 2 bytes per matrix value (8.03e9 parameters);
     * without checkpointing every block's fp32 weight copies stay for backward (28 GB), with it one block's.
     */
    /** The profile shapes are the released models' sizes: Pythia-410m 405.3M parameters, Qwen2.5-0.5B 494.0M (model cards). */
    @Test
    void newShapesHaveTheReleasedModelsParameterCounts() throws Exception {
        for (var e : java.util.Map.of(BenchModel.PYTHIA_410M, 405.3e6, BenchModel.QWEN2_5_0_5B, 494.0e6).entrySet()) {
            MemoryEstimate m = MemoryEstimate.of(config(e.getKey()), DType.BF16, new LoraConfig(8, 16, 0, e.getKey().targets, false), 1, 8, 8, false);
            assertEquals(e.getValue(), m.frozen() / 2.0, 0.01 * e.getValue(), e.getKey() + ": 2-byte frozen weights (norms are fp32)");
        }
    }

    @Test
    void llama3CapacityStepFitsOnlyWithCheckpointing() throws Exception {
        ModelConfig c = config(BenchModel.LLAMA3_8B);
        LoraConfig lc = new LoraConfig(64, 16, 0, BenchModel.LLAMA3_8B.targets, false);
        MemoryEstimate plain = MemoryEstimate.of(c, DType.BF16, lc, 1, 256, 256, false);
        MemoryEstimate ckpt = MemoryEstimate.of(c, DType.BF16, lc, 1, 256, 256, true);
        System.err.println("llama3_8b plain: " + plain.describe());
        System.err.println("llama3_8b checkpointed: " + ckpt.describe());
        long block = 4096L * (4096 + 1024 + 1024 + 4096) + 3L * 4096 * 14336;  // q, k, v, o; gate, up, down
        assertEquals(2 * (32 * block + 2L * 128256 * 4096) + 4L * 4096 * (2 * 32 + 1), plain.frozen());
        assertEquals(4 * 32 * block, plain.upcasts());
        assertEquals(4 * block, ckpt.upcasts());
        assertEquals(16L * 64 * 32 * ((4096 + 4096) + 2 * (4096 + 1024) + (4096 + 4096)), ckpt.adapters());
        assertTrue(plain.total() > 24L << 30, "without checkpointing it cannot fit in 24 GiB");
        assertTrue(ckpt.total() < 24L << 30, "with it, it should");
    }
}
