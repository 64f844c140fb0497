package dev.ffwd.data;

import dev.ffwd.io.TextTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A prepared dataset: JSONL records read ({@link #read}), optionally cut to a seeded sample, then tokenized and
 * split as in the paper ({@link #encode}). Reading comes before the model is loaded, so bad data fails fast.
 * {@code labels}: the classes of classification data (empty otherwise); {@code truncated}: examples cut to the length.
 */
public record Dataset(Splits splits, List<String> labels, int truncated) {

    /**
     * How records become examples. {@code limit} > 0 keeps only that many records, chosen by a seeded shuffle;
     * {@code validationSize} examples are held out of the test split for Fast Forward.
     */
    public record Settings(Format format, int maxLength, boolean pack, double testFraction, int validationSize, int limit) {}

    /**
     * Mixed into the run's seed for the limit's shuffle, so that the sample kept does not repeat the order of the
     * split's shuffle, which the run's seed drives directly (2⁶⁴/φ, the usual odd constant for decorrelating seeds).
     */
    public static final long LIMIT_SEED_MIX = 0x9E3779B97F4A7C15L;

    /** The records of {@code file}, chat rendered in {@code modelDir}'s template, cut to {@code s.limit()}. */
    public static List<Record> read(Path file, Settings s, Path modelDir, long seed) {
        List<Record> records = Jsonl.read(file, s.format(), modelDir);
        if (s.limit() <= 0 || records.size() <= s.limit()) return records;
        List<Record> shuffled = new ArrayList<>(records);
        Collections.shuffle(shuffled, new Random(seed ^ LIMIT_SEED_MIX));
        return shuffled.subList(0, s.limit());
    }

    /** Tokenizes {@code records} ({@code source} names them in errors) and splits them, seeded by {@code seed}. */
    public static Dataset encode(List<Record> records, TextTokenizer tok, Settings s, Path source, long seed) {
        return encode(records, tok, s, source, seed, null);
    }

    /**
     * As above, for masked language modelling when {@code masking} is not null: text records are encoded as masking
     * candidates and masked, each example seeded by {@code seed} and its index in the encoded data, before the split.
     */
    public static Dataset encode(List<Record> records, TextTokenizer tok, Settings s, Path source, long seed, Masking masking) {
        Encoder.Encoded enc = Encoder.encode(records, tok, s.maxLength(), s.pack(), source, masking != null);
        List<Example> examples = masking == null ? enc.examples() : masking.apply(enc.examples(), seed);
        return new Dataset(Splits.of(examples, s.testFraction(), s.validationSize(), seed), enc.labels(), enc.truncated());
    }
}
