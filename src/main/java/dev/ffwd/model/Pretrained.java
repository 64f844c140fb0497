package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.FfwdException;
import dev.ffwd.io.BuiltinModel;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.io.TextTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** A Hugging Face model folder loaded for use: config, frozen weights and tokenizer. */
public record Pretrained(Path dir, Transformer model, TextTokenizer tokenizer) implements AutoCloseable {

    /** The name that selects the built-in all-MiniLM-L6-v2. */
    public static final String BUILTIN = "builtin";

    /** Loads {@code spec}: a model folder, or {@value #BUILTIN} (also when null) for the embedded MiniLM. */
    public static Pretrained load(String spec) {
        return load(resolve(spec));
    }

    /** The folder {@code spec} names; the built-in model is written out on first use. */
    public static Path resolve(String spec) {
        return spec == null || spec.equals(BUILTIN) || spec.equals(BuiltinModel.NAME)
                ? BuiltinModel.materialize(BuiltinModel.defaultDir())
                : Path.of(spec);
    }

    public static Pretrained load(Path dir) {
        if (!Files.isDirectory(dir)) throw new FfwdException(dir + ": model folder not found");
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new FfwdException(cfgFile + ": config.json not found");
        ModelConfig cfg = ModelConfig.load(cfgFile);
        TextTokenizer tok = TextTokenizer.load(dir.resolve("tokenizer.json"));
        TensorStore store = SafetensorsReader.openModelDir(dir);
        NDManager manager = NDManager.newBaseManager();
        try {
            return new Pretrained(dir, build(cfg, store, manager), tok);
        } catch (RuntimeException e) {
            manager.close();
            store.close();
            tok.close();
            throw e;
        }
    }

    public static Transformer build(ModelConfig cfg, TensorStore store, NDManager manager) {
        return cfg.arch().build(cfg, store, manager);
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
