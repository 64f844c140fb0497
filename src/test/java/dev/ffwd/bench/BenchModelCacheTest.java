package dev.ffwd.bench;

import dev.ffwd.io.DType;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.junit.jupiter.api.Assertions.*;

/** A generated benchmark checkpoint is written once per (shape, dtype, seed) and reused only when complete. */
class BenchModelCacheTest {

    @TempDir Path tmp;

    @Test
    void writesOnceThenReusesAndRewritesWhatIsIncomplete() throws Exception {
        Path dir = BenchModel.LLAMA_SMALL.cached(tmp, 3, DType.F16);
        assertEquals(tmp.resolve("llama_small-f16-3"), dir);
        Path model = dir.resolve("model.safetensors");
        try (TensorStore s = SafetensorsReader.open(model)) {
            assertEquals(DType.F16, s.get("model.layers.0.self_attn.q_proj.weight").dtype());
        }
        FileTime written = FileTime.fromMillis(1_000_000);
        Files.setLastModifiedTime(model, written);
        assertEquals(dir, BenchModel.LLAMA_SMALL.cached(tmp, 3, DType.F16));
        assertEquals(written, Files.getLastModifiedTime(model), "a complete folder is reused as it is");

        Files.delete(model);  // as if the generator had been killed before its atomic rename
        Files.writeString(dir.resolve(".model.safetensors.123.tmp"), "partial");
        BenchModel.LLAMA_SMALL.cached(tmp, 3, DType.F16);
        assertTrue(Files.isRegularFile(model), "regenerated");
        assertFalse(Files.exists(dir.resolve(".model.safetensors.123.tmp")), "the killed writer's leftover is removed");
    }
}
