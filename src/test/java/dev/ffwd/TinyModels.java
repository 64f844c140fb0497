package dev.ffwd;

import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.RandomCheckpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tiny models of each family with seeded random weights, made on first use under target/tiny-models: config.json
 * and the 96-word tokenizer.json from src/test/resources/tiny-models (the shapes of ../shared's fixtures, and a
 * tiny-bert), weights
 * through our own safetensors writer. For every test where an independent reference is not the point, so that a
 * bare clone runs them; the float64 references stay with {@link SharedFixtures}.
 */
public final class TinyModels {

    private static final Path SOURCE = Path.of("src/test/resources/tiny-models").toAbsolutePath();
    private static final Path MADE = Path.of("target/tiny-models").toAbsolutePath();
    private static final long SEED = 1234;

    private TinyModels() {}

    /** The folder of tiny model {@code name} (e.g. "tiny-llama"), written if it is not there yet. */
    public static synchronized Path dir(String name) {
        Path dir = MADE.resolve(name);
        try {
            if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {  // written last, atomically
                Files.createDirectories(dir);
                Files.copy(tokenizer(name), dir.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                RandomCheckpoint.write(dir, Files.readString(SOURCE.resolve(name).resolve("config.json")), SEED);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot write the tiny model", e);
        }
        return dir;
    }

    /** The parsed config of tiny model {@code name} (no weights needed). */
    public static ModelConfig config(String name) {
        return ModelConfig.load(SOURCE.resolve(name).resolve("config.json"));
    }

    /** The fixtures' word-level tokenizer (lowercase, words and punctuation, 96 entries). */
    public static Path tokenizer() {
        return SOURCE.resolve("tokenizer.json");
    }

    /** Tiny model {@code name}'s tokenizer: its own (tiny-bert's adds "<s>" … "</s>" as [CLS] … [SEP]) or the shared one. */
    public static Path tokenizer(String name) {
        Path own = SOURCE.resolve(name).resolve("tokenizer.json");
        return Files.isRegularFile(own) ? own : tokenizer();
    }
}
