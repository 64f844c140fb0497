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

    /**
     * Token ids with the model's markers, how many markers close the sequence ([SEP], EOS), and which ids are special
     * tokens (the markers, and any special token written literally in the text), as the tokenizer's special-token mask says.
     */
    public record Marked(long[] ids, int closing, boolean[] special) {
        /**
         * At most {@code maxLength} ids: a longer sequence loses content tokens from its end but keeps its closing
         * markers, as Hugging Face's truncation does, so an encoder still sees [CLS] … [SEP].
         */
        public long[] truncate(int maxLength) {
            return truncated(maxLength).ids;
        }

        /** As {@link #truncate}, with the special flags cut the same way. */
        public Marked truncated(int maxLength) {
            if (ids.length <= maxLength) return this;
            long[] out = Arrays.copyOf(ids, maxLength);
            boolean[] sp = Arrays.copyOf(special, maxLength);
            int keep = Math.min(closing, maxLength - 1);  // the first id (e.g. [CLS]) stays too
            System.arraycopy(ids, ids.length - keep, out, maxLength - keep, keep);
            System.arraycopy(special, ids.length - keep, sp, maxLength - keep, keep);
            return new Marked(out, keep, sp);
        }
    }

    /** Token ids of {@code text} with the model's markers, and how many of them end it. */
    public Marked encodeMarked(String text) {
        Encoding e = tok.encode(text, true, false);
        long[] ids = e.getIds(), mask = e.getSpecialTokenMask();
        boolean[] special = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) special[i] = mask[i] == 1;
        int closing = 0;
        while (closing < ids.length && special[ids.length - 1 - closing]) closing++;
        return new Marked(ids, closing, special);
    }

    /** Spellings of the mask token that masked language models use (BERT's, then RoBERTa's). */
    private static final String[] MASK_TOKENS = {"[MASK]", "<mask>"};

    /**
     * The id of the mask token ([MASK] or {@code <mask>}: a text that tokenizes to that one token, as an added token
     * does), or -1 when the tokenizer has none.
     */
    public long maskId() {
        for (String m : MASK_TOKENS) {
            Encoding e = tok.encode(m, false, false);
            if (e.getIds().length == 1 && m.equals(e.getTokens()[0])) return e.getIds()[0];
        }
        return -1;
    }

    public String decode(long[] ids) {
        return tok.decode(ids, true);
    }

    @Override
    public void close() {
        tok.close();
    }
}
