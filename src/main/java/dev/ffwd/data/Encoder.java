package dev.ffwd.data;

import dev.ffwd.FfwdException;
import dev.ffwd.io.TextTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Tokenizes records: truncation to {@code maxLength}, optional packing, and the label vocabulary. For masked language
 * modelling ({@code masked}) a text is tokenized with its markers, truncation keeps [CLS] … [SEP] as for classification,
 * and the target flags mark the masking candidates (every token but the special ones); {@link Masking} then chooses.
 */
public final class Encoder {

    private Encoder() {}

    /** Encoded examples plus the sorted label names (classification) or an empty list. */
    public record Encoded(List<Example> examples, List<String> labels, int truncated) {}

    public static Encoded encode(List<Record> records, TextTokenizer tok, int maxLength, boolean pack, Path source) {
        return encode(records, tok, maxLength, pack, source, false);
    }

    /** As above; {@code masked}: examples for masked language modelling (text records only), not yet masked. */
    public static Encoded encode(List<Record> records, TextTokenizer tok, int maxLength, boolean pack, Path source, boolean masked) {
        if (maxLength < 2) throw new IllegalArgumentException("max length must be at least 2, got " + maxLength);
        List<String> labels = records.get(0).label() == null ? List.of()
                : List.copyOf(new TreeSet<>(records.stream().map(Record::label).toList()));
        if (records.get(0).label() != null && labels.size() < 2)
            throw new FfwdException(source + ": classification needs at least two distinct labels, found " + labels);
        List<Example> out = new ArrayList<>();
        int truncated = 0;
        for (Record r : records) {
            if (r.label() != null) {  // truncation keeps the closing marker: [CLS] … [SEP]
                TextTokenizer.Marked m = tok.encodeMarked(r.segments().get(0).text());
                long[] ids = pack ? m.ids() : m.truncate(maxLength);
                if (ids.length < m.ids().length) truncated++;
                out.add(new Example(ids, new boolean[ids.length], labels.indexOf(r.label())));
                continue;
            }
            if (masked) {
                if (r.rendered() || r.segments().size() != 1)
                    throw new IllegalArgumentException(source + ":" + r.line() + ": masked language modelling takes text records only");
                TextTokenizer.Marked all = tok.encodeMarked(r.segments().get(0).text()), m = pack ? all : all.truncated(maxLength);
                if (m.ids().length < all.ids().length) truncated++;
                boolean[] candidate = new boolean[m.ids().length];
                for (int i = 0; i < candidate.length; i++) candidate[i] = !m.special()[i];
                Example e = new Example(m.ids(), candidate, -1);
                if (count(candidate) == 0)
                    throw new FfwdException(source + ":" + r.line() + ": no tokens to learn from (the text is empty, or max length " + maxLength
                            + " leaves room for its markers alone)");
                out.add(e);
                continue;
            }
            Example e = tokenize(r, tok);
            if (e.targetCount() == 0) {
                throw new FfwdException(source + ":" + r.line() + ": no tokens to learn from (the prompt fills the sequence)");
            }
            if (!pack && e.length() > maxLength) {
                truncated++;
                e = new Example(Arrays.copyOf(e.ids(), maxLength), Arrays.copyOf(e.target(), maxLength), e.label());
                if (e.targetCount() == 0)
                    throw new FfwdException(source + ":" + r.line() + ": the prompt alone exceeds max length " + maxLength
                            + " tokens, so no target token is left; raise --max-length or shorten the example");
            }
            out.add(e);
        }
        List<Example> rows = pack ? pack(out, maxLength) : out;
        if (masked && pack) rows = rows.stream().filter(e -> count(e.target()) > 0).toList();  // a tail of markers alone
        return new Encoded(rows, labels, truncated);
    }

    private static Example tokenize(Record r, TextTokenizer tok) {
        if (r.rendered()) return tokenizeRendered(r, tok);
        List<Long> ids = new ArrayList<>();
        List<Boolean> tgt = new ArrayList<>();
        boolean first = true;
        for (Record.Segment s : r.segments()) {
            for (long id : tok.encode(s.text(), first)) {  // special tokens (BOS) once, at the start
                ids.add(id);
                tgt.add(s.target());
            }
            first = false;
        }
        long[] a = ids.stream().mapToLong(Long::longValue).toArray();
        boolean[] t = new boolean[a.length];
        for (int i = 0; i < a.length; i++) t[i] = tgt.get(i);
        return new Example(a, t, -1);
    }

    /**
     * A rendered chat as one text, without added special tokens (the template wrote them). A segment boundary falls
     * after the tokens that the text before it tokenizes to, as far as they agree with the whole text's tokens.
     */
    private static Example tokenizeRendered(Record r, TextTokenizer tok) {
        StringBuilder text = new StringBuilder();
        r.segments().forEach(s -> text.append(s.text()));
        long[] ids = tok.encode(text.toString(), false);
        boolean[] target = new boolean[ids.length];
        int chars = 0, from = 0;
        for (Record.Segment s : r.segments()) {
            chars += s.text().length();
            int to = chars == text.length() ? ids.length : agreeing(tok.encode(text.substring(0, chars), false), ids);
            if (s.target()) Arrays.fill(target, from, Math.max(from, to), true);
            from = Math.max(from, to);
        }
        return new Example(ids, target, -1);
    }

    private static int count(boolean[] flags) {
        int n = 0;
        for (boolean f : flags) if (f) n++;
        return n;
    }

    private static int agreeing(long[] prefix, long[] all) {
        int n = 0;
        while (n < prefix.length && n < all.length && prefix[n] == all[n]) n++;
        return n;
    }

    /** Concatenates examples and cuts the stream into full rows of {@code maxLength} (the last partial row is kept). */
    static List<Example> pack(List<Example> examples, int maxLength) {
        List<Example> rows = new ArrayList<>();
        long[] ids = new long[maxLength];
        boolean[] tgt = new boolean[maxLength];
        int n = 0;
        for (Example e : examples) {
            for (int i = 0; i < e.length(); i++) {
                ids[n] = e.ids()[i];
                tgt[n] = e.target()[i];
                if (++n == maxLength) {
                    rows.add(new Example(ids.clone(), tgt.clone(), -1));
                    n = 0;
                }
            }
        }
        if (n > 1) rows.add(new Example(Arrays.copyOf(ids, n), Arrays.copyOf(tgt, n), -1));
        return rows;
    }
}
