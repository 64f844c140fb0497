package dev.ffwd.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.DType;
import dev.ffwd.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
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

    /**
     * As {@link #write(Path, String, long)}, the weights stored as {@code dtype} (F16/BF16: a 2-byte checkpoint). The
     * file is streamed (see {@link SafetensorsWriter#stream}): the heap holds one chunk of values, whatever the model's size.
     */
    public static Path write(Path dir, String configJson, long seed, DType dtype) throws IOException {
        ModelConfig c = ModelConfig.parse(dir.resolve("config.json"), new ObjectMapper().readTree(configJson));
        List<Layout.Tensor> tensors = c.arch().layout(c).tensors();
        Map<String, Layout.Init> init = new HashMap<>();
        for (Layout.Tensor t : tensors) init.put(t.name(), t.init());
        Random r = new Random(seed);  // one generator, consumed in file order
        AtomicFiles.writeString(dir.resolve("config.json"), configJson);
        SafetensorsWriter.stream(dir.resolve("model.safetensors"),
                tensors.stream().map(t -> new SafetensorsWriter.Spec(t.name(), dtype, t.shape())).toList(), Map.of("format", "pt"),
                (t, start, out) -> {
                    switch (init.get(t.name())) {
                        case NORMAL -> { for (int i = 0; i < out.length; i++) out[i] = (float) (r.nextGaussian() * 0.02); }
                        case ONE -> java.util.Arrays.fill(out, 1f);
                        case ZERO -> java.util.Arrays.fill(out, 0f);
                    }
                });
        return dir;
    }

    /** Bytes of the model.safetensors {@link #write} makes for {@code configJson} in {@code dtype} (the header aside). */
    public static long fileBytes(String configJson, DType dtype) throws IOException {
        ModelConfig c = ModelConfig.parse(java.nio.file.Path.of("config.json"), new ObjectMapper().readTree(configJson));
        long n = 0;
        for (Layout.Tensor t : c.arch().layout(c).tensors()) n += new SafetensorsWriter.Spec(t.name(), dtype, t.shape()).bytes();
        return n;
    }
}
