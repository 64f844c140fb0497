package dev.ffwd.data;

import dev.ffwd.TinyModels;
import dev.ffwd.io.TextTokenizer;
import dev.ffwd.model.Pretrained;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** BERT's masking recipe: seeded per example, 15% of the non-special tokens, 80/10/10 mask/random/keep. */
class MaskingTest {

    static final long CLS = 101, SEP = 102, MASK = 103;
    static final int V = 30522;

    @TempDir Path tmp;

    /** {@code n} examples [CLS] w… [SEP] of random lengths, the words flagged as candidates (as the encoder does). */
    static List<Example> candidates(int n, long seed) {
        Random r = new Random(seed);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 3 + r.nextInt(80);
            long[] ids = new long[len];
            boolean[] cand = new boolean[len];
            ids[0] = CLS;
            ids[len - 1] = SEP;
            for (int t = 1; t < len - 1; t++) {
                ids[t] = 1000 + r.nextInt(20000);
                cand[t] = true;
            }
            out.add(new Example(ids, cand, -1));
        }
        return out;
    }

    @Test
    void sameSeedSameMasksAndEachExampleHasItsOwn() {
        Masking m = new Masking(MASK, V);
        List<Example> ex = candidates(50, 1);
        List<Example> a = m.apply(ex, 42), b = m.apply(ex, 42), c = m.apply(ex, 43);
        for (int i = 0; i < ex.size(); i++) {
            assertArrayEquals(a.get(i).ids(), b.get(i).ids());
            assertArrayEquals(a.get(i).target(), b.get(i).target());
            assertArrayEquals(a.get(i).tokenLabels(), b.get(i).tokenLabels());
            assertArrayEquals(a.get(i).ids(), m.apply(ex.get(i), 42, i).ids(), "keyed by (seed, index) alone");
        }
        assertTrue(differs(a, c), "another seed masks other positions");
        List<Example> shifted = m.apply(ex.subList(1, ex.size()), 42);  // example i+1 now at index i: masked afresh
        assertTrue(differs(a.subList(1, a.size()), shifted));
    }

    private static boolean differs(List<Example> x, List<Example> y) {
        for (int i = 0; i < x.size(); i++) if (!java.util.Arrays.equals(x.get(i).target(), y.get(i).target())) return true;
        return false;
    }

    @Test
    void fifteenPercentOfTheWordsAtLeastOneThenEightyTenTen() {
        Masking m = new Masking(MASK, V);
        List<Example> ex = candidates(4000, 2);
        List<Example> masked = m.apply(ex, 7);
        long words = 0, chosen = 0, toMask = 0, toRandom = 0, kept = 0;
        for (int i = 0; i < ex.size(); i++) {
            Example before = ex.get(i), after = masked.get(i);
            assertArrayEquals(before.ids(), after.tokenLabels(), "token labels are the original ids");
            int c = 0, n = 0;
            for (int t = 0; t < before.length(); t++) {
                if (before.target()[t]) c++;
                if (!after.target()[t]) {
                    assertEquals(before.ids()[t], after.ids()[t], "an unchosen position keeps its token");
                    continue;
                }
                assertTrue(before.target()[t], "only candidates are chosen: never [CLS] or [SEP]");
                n++;
                if (after.ids()[t] == MASK) toMask++;
                else if (after.ids()[t] == before.ids()[t]) kept++;
                else toRandom++;
                assertTrue(after.ids()[t] >= 0 && after.ids()[t] < V);
            }
            assertEquals(Math.max(1, Math.round(0.15 * c)), n, "15% of " + c + " words, rounded, at least one");
            assertEquals(n, after.targetCount());
            words += c;
            chosen += n;
        }
        assertEquals(0.15, chosen / (double) words, 0.005);
        assertEquals(0.8, toMask / (double) chosen, 0.015);
        assertEquals(0.1, toRandom / (double) chosen, 0.01);
        assertEquals(0.1, kept / (double) chosen, 0.01);
    }

    @Test
    void aSingleWordIsAlwaysChosenAndMarkersAloneAreRefused() {
        Masking m = new Masking(MASK, V);
        Example one = m.apply(new Example(new long[]{CLS, 2000, SEP}, new boolean[]{false, true, false}, -1), 1, 0);
        assertArrayEquals(new boolean[]{false, true, false}, one.target());
        assertThrows(IllegalArgumentException.class,
                () -> m.apply(new Example(new long[]{CLS, SEP}, new boolean[]{false, false}, -1), 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Masking(V, V));
    }

    /** The built-in MiniLM tokenizer: [MASK] found, texts encoded [CLS] … [SEP] (truncation keeps [SEP]), markers never masked. */
    @Test
    void encodingForMaskedLmWithTheBuiltinTokenizer() throws IOException {
        Path f = tmp.resolve("t.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 60; i++)
            lines.add("{\"text\": \"call me ishmael " + i + ". some years ago, never mind how long precisely, having little or no money in my purse\"}");
        lines.add("{\"text\": \"a whale\"}");
        Files.write(f, lines);
        try (TextTokenizer tok = TextTokenizer.load(Pretrained.resolve(Pretrained.BUILTIN).resolve("tokenizer.json"))) {
            assertEquals(MASK, tok.maskId());
            List<Record> rs = Jsonl.read(f, Format.TEXT);
            Encoder.Encoded enc = Encoder.encode(rs, tok, 16, false, f, true);
            assertEquals(60, enc.truncated());
            for (Example e : enc.examples()) {
                assertEquals(CLS, e.ids()[0]);
                assertEquals(SEP, e.ids()[e.length() - 1], "truncation keeps [SEP]");
                assertFalse(e.target()[0]);
                assertFalse(e.target()[e.length() - 1]);
                for (int t = 1; t < e.length() - 1; t++) assertTrue(e.target()[t], "every word is a candidate");
            }
            Dataset.Settings s = new Dataset.Settings(Format.TEXT, 16, false, 0.2, 0, 0);
            Masking m = new Masking(tok.maskId(), V);
            Dataset a = Dataset.encode(rs, tok, s, f, 5, m), b = Dataset.encode(rs, tok, s, f, 5, m);
            assertEquals(a.splits().test().size(), b.splits().test().size());
            for (int i = 0; i < a.splits().test().size(); i++) {  // the test split, masks included, is the same every time
                Example x = a.splits().test().get(i), y = b.splits().test().get(i);
                assertArrayEquals(x.ids(), y.ids());
                assertArrayEquals(x.target(), y.target());
                assertArrayEquals(x.tokenLabels(), y.tokenLabels());
                assertFalse(x.target()[0] || x.target()[x.length() - 1], "[CLS] and [SEP] are never masked");
            }
        }
    }

    /** A tokenizer without a mask token says so (tiny-bert's has none). */
    @Test
    void noMaskToken() {
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.tokenizer("tiny-bert"))) {
            assertEquals(-1, tok.maskId());
        }
    }
}
