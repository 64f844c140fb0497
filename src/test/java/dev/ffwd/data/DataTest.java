package dev.ffwd.data;

import dev.ffwd.SharedFixtures;
import dev.ffwd.TinyModels;
import dev.ffwd.io.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class DataTest {

    @TempDir Path tmp;

    /** A bad byte deep in a file is reported at its own line and offset, not where a buffered reader had got to. */
    @Test
    void invalidUtf8IsReportedAtItsLine() throws IOException {
        Path f = tmp.resolve("bad.jsonl");
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 300; i++) b.writeBytes(("{\"text\": \"line " + i + " caf\u00e9\"}\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        int offset = b.size() + 11;
        b.writeBytes("{\"text\": \"".getBytes());
        b.write(0xff);
        b.writeBytes("\"}\n".getBytes());
        Files.write(f, b.toByteArray());
        dev.ffwd.FfwdException e = assertThrows(dev.ffwd.FfwdException.class, () -> Jsonl.read(f, Format.TEXT));
        assertEquals(f + ":301: not valid UTF-8 at byte 11 of the line (byte offset " + (offset - 1) + " in the file)", e.getMessage());
        Files.write(f, java.util.Arrays.copyOf(b.toByteArray(), offset - 11));
        assertEquals(300, Jsonl.read(f, Format.TEXT).size(), "CRLF lines and non-ASCII text read as before");
    }

    Path write(String... lines) throws IOException {
        Path f = tmp.resolve("d" + System.nanoTime() + ".jsonl");
        Files.write(f, List.of(lines));
        return f;
    }

    @Test
    void limitKeepsASeededSampleApartFromTheSplitsOrder() throws IOException {
        String[] lines = new String[40];
        for (int i = 0; i < lines.length; i++) lines[i] = "{\"text\": \"the cat " + i + "\"}";
        Path f = write(lines);
        Dataset.Settings all = new Dataset.Settings(Format.TEXT, 32, false, 0.25, 0, 0), ten = new Dataset.Settings(Format.TEXT, 32, false, 0.25, 0, 10);
        List<Record> every = Dataset.read(f, all, tmp, 7);
        assertEquals(40, every.size());
        List<Record> kept = Dataset.read(f, ten, tmp, 7);
        assertEquals(10, kept.size());
        assertEquals(kept, Dataset.read(f, ten, tmp, 7), "the same seed keeps the same records");
        assertNotEquals(kept, Dataset.read(f, ten, tmp, 8), "another seed keeps others");
        List<Record> shuffled = new ArrayList<>(every);
        java.util.Collections.shuffle(shuffled, new java.util.Random(7 ^ Dataset.LIMIT_SEED_MIX));
        assertEquals(shuffled.subList(0, 10), kept);
        java.util.Collections.shuffle(every, new java.util.Random(7));  // the split's own order under the same seed
        assertNotEquals(every.subList(0, 10), kept);
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.tokenizer())) {
            Dataset d = Dataset.encode(kept, tok, ten, f, 7);
            assertEquals(List.of(7, 3, 0), List.of(d.splits().train().size(), d.splits().test().size(), d.splits().validation().size()));
            assertEquals(List.of(), d.labels());
        }
    }

    @Test
    void instructionLossIsOnTheResponseOnly() throws IOException {
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.tokenizer())) {
            List<Record> rs = Jsonl.read(write("{\"instruction\": \"say\", \"input\": \"the cat\", \"output\": \"the dog ran .\"}"), Format.INSTRUCTION);
            Example e = Encoder.encode(rs, tok, 512, false, tmp).examples().get(0);
            long[] response = tok.encode("the dog ran .", false);
            int targets = 0;
            for (boolean t : e.target()) if (t) targets++;
            assertEquals(response.length, targets);
            for (int i = 0; i < response.length; i++) {  // the target tokens are exactly the response, at the end
                assertTrue(e.target()[e.length() - response.length + i]);
                assertEquals(response[i], e.ids()[e.length() - response.length + i]);
            }
        }
    }

    @Test
    void chatLossIsOnAssistantTurnsOnly() throws IOException {
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.tokenizer())) {
            List<Record> rs = Jsonl.read(write("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"the cat\"}, {\"role\": \"user\", \"content\": \"and\"}]}"), Format.CHAT);
            assertEquals(6, rs.get(0).segments().size());
            assertEquals(List.of(false, false, false, true, false, false), rs.get(0).segments().stream().map(Record.Segment::target).toList());
            assertTrue(Encoder.encode(rs, tok, 512, false, tmp).examples().get(0).targetCount() > 0);
        }
    }

    @Test
    void chatInTheModelsTemplateIsTokenizedWholeWithLossOnTheAssistantTurnAndItsEos() throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        Files.writeString(model.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"chat_template\": \""
                + SharedFixtures.WORD_CHAT_TEMPLATE.replace("'", "\\u0027") + "\"}");
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.dir("tiny-llama").resolve("tokenizer.json"))) {
            Path data = write("{\"messages\": [{\"role\": \"user\", \"content\": \"the cat\"}, {\"role\": \"assistant\", \"content\": \"a dog\"}]}");
            List<Record> rs = Jsonl.read(data, Format.CHAT, model);
            assertTrue(rs.get(0).rendered());
            Example e = Encoder.encode(rs, tok, 512, false, tmp).examples().get(0);
            // <s> you the cat </s> i | a dog </s>, ids from the fixture's vocabulary
            assertArrayEquals(new long[]{2, 18, 4, 44, 3, 19, 5, 43, 3}, e.ids());
            assertArrayEquals(new boolean[]{false, false, false, false, false, false, true, true, true}, e.target());
            // the same data without a template in the model folder: the plain format
            Files.delete(model.resolve("tokenizer_config.json"));
            assertFalse(Jsonl.read(data, Format.CHAT, model).get(0).rendered());
            // a template error names the data line and the template's file
            Files.writeString(model.resolve("chat_template.jinja"), "{{ raise_exception('no ' + messages[0].role) }}");
            dev.ffwd.FfwdException x = assertThrows(dev.ffwd.FfwdException.class, () -> Jsonl.read(data, Format.CHAT, model));
            assertEquals(data + ":1: " + model.resolve("chat_template.jinja") + ": chat_template: no user", x.getMessage());
        }
    }

    @Test
    void classificationLabelsAreSortedAndTruncationIsCounted() throws IOException {
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.tokenizer())) {
            List<Record> rs = Jsonl.read(write("{\"text\": \"the cat saw the dog and the bird\", \"label\": \"b\"}",
                    "{\"text\": \"a dog\", \"label\": \"a\"}", "{\"text\": \"a cat\", \"label\": 7}"), Format.CLASSIFICATION);
            Encoder.Encoded enc = Encoder.encode(rs, tok, 4, false, tmp);
            assertEquals(List.of("7", "a", "b"), enc.labels());
            assertEquals(List.of(2, 1, 0), enc.examples().stream().map(Example::label).toList());
            assertEquals(1, enc.truncated());
            assertTrue(enc.examples().stream().allMatch(e -> e.length() <= 4));
        }
    }

    @Test
    void classificationTruncationKeepsTheClosingSeparator() throws IOException {
        try (TextTokenizer tok = TextTokenizer.load(TinyModels.tokenizer("tiny-bert"))) {  // "<s>" … "</s>" as [CLS] … [SEP]
            long[] full = tok.encode("the cat saw the dog and the bird", true);
            assertEquals(2, full[0]);
            assertEquals(3, full[full.length - 1]);
            List<Record> rs = Jsonl.read(write("{\"text\": \"the cat saw the dog and the bird\", \"label\": \"b\"}",
                    "{\"text\": \"a dog\", \"label\": \"a\"}"), Format.CLASSIFICATION);
            Encoder.Encoded enc = Encoder.encode(rs, tok, 5, false, tmp);
            assertEquals(1, enc.truncated());
            long[] cut = enc.examples().get(0).ids();
            assertArrayEquals(new long[]{2, full[1], full[2], full[3], 3}, cut, "[CLS] the cat saw [SEP]");
            assertArrayEquals(tok.encode("a dog", true), enc.examples().get(1).ids(), "a short text is left as it is");
            assertArrayEquals(cut, tok.encodeMarked("the cat saw the dog and the bird").truncate(5), "prediction truncates as training");
        }
    }

    @Test
    void packingFillsRows() {
        List<Example> ex = new ArrayList<>();
        for (int i = 0; i < 5; i++) ex.add(new Example(new long[]{1, 2, 3}, new boolean[]{true, true, true}, -1));
        List<Example> rows = Encoder.pack(ex, 4);
        assertEquals(4, rows.size());  // 15 tokens -> 3 full rows + 3
        assertEquals(List.of(4, 4, 4, 3), rows.stream().map(Example::length).toList());
    }

    @Test
    void splitsAreSeededDisjointAndHoldValidationOutOfTest() {
        List<Example> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) all.add(new Example(new long[]{i}, new boolean[]{true}, -1));
        Splits a = Splits.of(all, 0.25, 32, 7), b = Splits.of(all, 0.25, 32, 7);
        assertEquals(a, b);
        assertEquals(150, a.train().size());
        assertEquals(18, a.test().size());
        assertEquals(32, a.validation().size());
        java.util.Set<Example> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        seen.addAll(a.train());
        seen.addAll(a.test());
        seen.addAll(a.validation());
        assertEquals(200, seen.size());
        assertNotEquals(a.train(), Splits.of(all, 0.25, 32, 8).train());
        assertThrows(dev.ffwd.FfwdException.class, () -> Splits.of(all.subList(0, 20), 0.25, 32, 7));
    }
}
