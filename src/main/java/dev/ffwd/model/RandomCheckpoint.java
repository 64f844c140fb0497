package dev.ffwd.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.DType;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A Hugging Face folder with seeded random weights for a config: every tensor the family's {@link Layout} declares,
 * initialised as HF initialises a fresh model (N(0, 0.02) weights, unit norms, zero biases). Benchmarks and tests
 * use it where the weights' values do not matter.
 */
public final class RandomCheckpoint {

    private RandomCheckpoint() {}

    /** Writes {@code configJson} as config.json and the weights as model.safetensors (last, atomically) into {@code dir}. */
    public static Path write(Path dir, String configJson, long seed) throws IOException {
        return write(dir, configJson, seed, DType.F32);
    }

    /** As {@link #write(Path, String, long)}, the weights stored as {@code dtype} (F16/BF16: a 2-byte checkpoint). */
    public static Path write(Path dir, String configJson, long seed, DType dtype) throws IOException {
        ModelConfig c = ModelConfig.parse(dir.resolve("config.json"), new ObjectMapper().readTree(configJson));
        Random r = new Random(seed);
        List<RawTensor> ts = new ArrayList<>();
        for (Layout.Tensor t : c.arch().layout(c).tensors()) {
            long n = 1;
            for (long d : t.shape()) n *= d;
            float[] v = new float[Math.toIntExact(n)];
            for (int i = 0; i < v.length; i++)
                v[i] = switch (t.init()) {
                    case NORMAL -> (float) (r.nextGaussian() * 0.02);
                    case ONE -> 1f;
                    case ZERO -> 0f;
                };
            ts.add(RawTensor.of(t.name(), t.shape(), v, dtype));
        }
        AtomicFiles.writeString(dir.resolve("config.json"), configJson);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), ts, Map.of("format", "pt"));
        return dir;
    }
}
