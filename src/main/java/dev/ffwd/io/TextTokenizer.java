package dev.ffwd.io;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.ffwd.FfwdException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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

    /** Token ids with the model's markers, and how many markers close the sequence ([SEP], EOS). */
    public record Marked(long[] ids, int closing) {
        /**
         * At most {@code maxLength} ids: a longer sequence loses content tokens from its end but keeps its closing
         * markers, as Hugging Face's truncation does, so an encoder still sees [CLS] … [SEP].
         */
        public long[] truncate(int maxLength) {
            if (ids.length <= maxLength) return ids;
            long[] out = Arrays.copyOf(ids, maxLength);
            int keep = Math.min(closing, maxLength - 1);  // the first id (e.g. [CLS]) stays too
            System.arraycopy(ids, ids.length - keep, out, maxLength - keep, keep);
            return out;
        }
    }

    /** Token ids of {@code text} with the model's markers, and how many of them end it. */
    public Marked encodeMarked(String text) {
        Encoding e = tok.encode(text, true, false);
        long[] ids = e.getIds(), special = e.getSpecialTokenMask();
        int closing = 0;
        while (closing < ids.length && special[ids.length - 1 - closing] == 1) closing++;
        return new Marked(ids, closing);
    }

    public String decode(long[] ids) {
        return tok.decode(ids, true);
    }

    @Override
    public void close() {
        tok.close();
    }
}
