package dev.ffwd.io;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.ffwd.FfwdException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A Hugging Face {@code tokenizer.json}, loaded offline; no truncation or padding (the data pipeline does both). */
public final class TextTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tok;

    private TextTokenizer(HuggingFaceTokenizer tok) {
        this.tok = tok;
    }

    public static TextTokenizer load(Path file) {
        if (!Files.isRegularFile(file)) throw new FfwdException(file + ": tokenizer.json not found");
        try {
            Map<String, String> opts = Map.of("truncation", "false", "padding", "false", "modelMaxLength", "1000000000");
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(file, opts));
        } catch (Exception | UnsatisfiedLinkError e) {
            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            throw new FfwdException(file + ": cannot load tokenizer: " + why);
        }
    }

    /** Token ids of {@code text}; {@code special} adds the model's own markers ([CLS]…[SEP], BOS). */
    public long[] encode(String text, boolean special) {
        return tok.encode(text, special, false).getIds();
    }

    public long[] encode(String text) {
        return encode(text, true);
    }

    public String decode(long[] ids) {
        return tok.decode(ids, true);
    }

    @Override
    public void close() {
        tok.close();
    }
}
