package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.SharedFixtures;
import dev.ffwd.TinyModels;
import dev.ffwd.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** KV-cache decoding against full recompute and the float64 references; sampling, EOS, the CLI; padded batches. */
class GenerationTest {

    @TempDir Path tmp;

    static final long[] PROMPT = {90, 60, 65, 86, 55, 74, 80, 21, 5};

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gpt-neox", "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-mistral", "tiny-gpt2"})
    void greedyWithCacheEqualsFullRecomputeAndTheReference(String name) throws Exception {
        Path dir = SharedFixtures.fixture(name);
        JsonNode logits = new ObjectMapper().readTree(dir.resolve("reference.json").toFile()).get("logits");
        try (Pretrained p = Pretrained.load(dir)) {
            Transformer m = p.model();
            long[] cached = Scoring.generate(m, PROMPT, 20, Sampling.GREEDY, 0, Set.of(), true);
            long[] full = Scoring.generate(m, PROMPT, 20, Sampling.GREEDY, 0, Set.of(), false);
            assertEquals(20, cached.length);
            assertArrayEquals(full, cached, name);
            // the float64 reference's argmax after every prefix of the prompt, where it is not a near tie
            int checked = 0;
            for (int t = 0; t < PROMPT.length; t++) {
                JsonNode row = logits.get(t);
                double[] l = new double[row.size()];
                for (int v = 0; v < l.length; v++) l[v] = row.get(v).asDouble();
                double[] sorted = l.clone();
                Arrays.sort(sorted);
                if (sorted[l.length - 1] - sorted[l.length - 2] < 1e-3) continue;
                long expected = 0;
                for (int v = 1; v < l.length; v++) if (l[v] > l[(int) expected]) expected = v;
                long[] got = Scoring.generate(m, Arrays.copyOf(PROMPT, t + 1), 1, Sampling.GREEDY, 0, Set.of(), true);
                assertEquals(expected, got[0], name + " after " + (t + 1) + " tokens");
                checked++;
            }
            assertTrue(checked >= PROMPT.length - 2, name + ": only " + checked + " positions without a near tie");
        }
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            Transformer m = p.model();
            Sampling s = new Sampling(1.0, 20, 0.9);
            long[] a = Scoring.generate(m, PROMPT, 20, s, 7, Set.of(), true);
            assertArrayEquals(a, Scoring.generate(m, PROMPT, 20, s, 7, Set.of(), true));
            assertFalse(Arrays.equals(a, Scoring.generate(m, PROMPT, 20, s, 8, Set.of(), true)), "different seeds, same tokens");
            assertArrayEquals(Scoring.generate(m, PROMPT, 20, Sampling.GREEDY, 0, Set.of(), true),
                    Scoring.generate(m, PROMPT, 20, new Sampling(1.5, 1, 1.0), 3, Set.of(), true));
            assertArrayEquals(Scoring.generate(m, PROMPT, 20, Sampling.GREEDY, 0, Set.of(), true),
                    Scoring.generate(m, PROMPT, 20, new Sampling(1.0, 0, 1e-6), 3, Set.of(), true));
        }
    }

    @Test
    void topKAndTopPKeepOnlyTheirTokens() {
        float[] logits = {0f, 3f, 2f, 1f, -5f};  // probabilities at T=1 ≈ .032 .64 .24 .086 .0004
        Random r = new Random(1);
        for (int i = 0; i < 2000; i++) {
            long k = new Sampling(1, 2, 1).next(logits, r);
            assertTrue(k == 1 || k == 2, "top-2 drew " + k);
            long p = new Sampling(1, 0, 0.85).next(logits, r);  // .64 + .24 ≥ .85
            assertTrue(p == 1 || p == 2, "top-p drew " + p);
        }
    }

    @Test
    void stopsAtEosFromGenerationConfigUnlessIgnored() throws Exception {
        // a variant whose greedy continuation of this prompt does not repeat one token (continuations.json)
        Path src = VariantsTest.materialize(tmp.resolve("variant"), "qwen2-mqa-untied-hd16");
        long[] prompt = {60, 65, 86, 55};
        long[] greedy;
        try (Pretrained p = Pretrained.load(src)) {
            greedy = Scoring.generate(p.model(), prompt, 6, Sampling.GREEDY, 0, Set.of(), true);
        }
        int stop = firstNewToken(greedy);  // EOS is a generated token not seen before it: generation must stop right there
        assertTrue(stop < greedy.length - 1, "the tiny model repeats itself: " + Arrays.toString(greedy));
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        for (String f : new String[]{"config.json", "tokenizer.json", "model.safetensors"}) Files.copy(src.resolve(f), dir.resolve(f));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [1000, " + greedy[stop] + "]}");
        assertEquals(Set.of(1000L, greedy[stop]), Eos.of(dir));
        String base = "--model=" + dir + " --token-ids=" + String.join(",", Arrays.stream(prompt).mapToObj(Long::toString).toList())
                + " --max-new-tokens=6 --greedy --json";
        assertEquals(Arrays.toString(Arrays.copyOf(greedy, stop + 1)), Arrays.toString(generatedIds(base)));
        assertEquals(Arrays.toString(greedy), Arrays.toString(generatedIds(base + " --ignore-eos")));
        assertEquals(Arrays.toString(greedy), Arrays.toString(generatedIds(base + " --ignore-eos --no-cache")));
    }

    @Test
    void chatRendersTheModelsTemplateAndContinuesItsTokens() throws Exception {
        Path src = TinyModels.dir("tiny-qwen2"), dir = tmp.resolve("chat");
        Files.createDirectories(dir);
        for (String f : new String[]{"config.json", "tokenizer.json", "model.safetensors"}) Files.copy(src.resolve(f), dir.resolve(f));
        String[] chat = {"--model=" + dir, "--chat", "--system", "a dog", "--prompt", "the cat", "--max-new-tokens=6", "--greedy", "--ignore-eos", "--json"};
        dev.ffwd.FfwdException e = assertThrows(dev.ffwd.FfwdException.class, () -> generatedIds(chat));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + ": no chat_template"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer_config.json"), new ObjectMapper().createObjectNode().put("bos_token", "<s>")
                .put("eos_token", "</s>").put("chat_template", SharedFixtures.WORD_CHAT_TEMPLATE).toString());
        // <s> i a dog </s> you the cat </s> i: the system turn, the user's, the generation prompt (fixture vocabulary ids)
        assertArrayEquals(generatedIds("--model=" + dir + " --token-ids=2,19,5,43,3,18,4,44,3,19 --max-new-tokens=6 --greedy --ignore-eos --json"),
                generatedIds(chat));
    }

    /** The first position after 0 whose token does not occur before it (the length if there is none). */
    private static int firstNewToken(long[] ids) {
        for (int i = 1; i < ids.length; i++) {
            long t = ids[i];
            if (Arrays.stream(ids, 0, i).noneMatch(u -> u == t)) return i;
        }
        return ids.length;
    }

    /** Runs {@code ffwd generate ARGS} (space-separated, ending in --json) and returns its generated_ids. */
    static long[] generatedIds(String args) throws Exception {
        return generatedIds(args.split(" "));
    }

    private static long[] generatedIds(String... args) throws Exception {
        PrintStream old = System.out, oldErr = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        System.setErr(new PrintStream(err, true));
        String[] argv = new String[args.length + 1];
        argv[0] = "generate";
        System.arraycopy(args, 0, argv, 1, args.length);
        try {
            int code = Main.run(argv);
            if (code != 0) throw new dev.ffwd.FfwdException(err.toString().strip().replaceFirst("^ffwd: error: ", ""));
        } finally {
            System.setOut(old);
            System.setErr(oldErr);
        }
        JsonNode ids = new ObjectMapper().readTree(buf.toString()).get("generated_ids");
        long[] out = new long[ids.size()];
        for (int i = 0; i < out.length; i++) out[i] = ids.get(i).asLong();
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gpt-neox", "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-mistral", "tiny-gpt2"})
    void paddedBatchesEqualSequencesAlone(String name) {
        List<long[]> seqs = List.of(PROMPT, Arrays.copyOf(PROMPT, 4), new long[]{7, 3, 12, 40, 41, 42});
        try (Pretrained p = Pretrained.load(TinyModels.dir(name))) {
            Transformer m = p.model();
            for (boolean left : new boolean[]{false, true}) {
                List<double[]> batch = Scoring.tokenLogprobs(m, seqs, left);
                for (int i = 0; i < seqs.size(); i++) {
                    double[] alone = Scoring.tokenLogprobs(m, seqs.get(i));
                    for (int t = 1; t < alone.length; t++)
                        assertEquals(alone[t], batch.get(i)[t], 1e-5, name + (left ? " left" : " right") + " seq " + i + " token " + t);
                }
                // the pooled (last real token) state, as sequence classification uses it
                float[] pooled = pool(m, seqs, left), single = pool(m, List.of(seqs.get(1)), left);
                int d = m.config.hidden();
                for (int j = 0; j < d; j++) assertEquals(single[j], pooled[d + j], 1e-5, name + " pooled");
            }
        }
    }

    private static float[] pool(Transformer m, List<long[]> seqs, boolean left) {
        int b = seqs.size(), t = seqs.stream().mapToInt(s -> s.length).max().orElseThrow();
        long[] ids = new long[b * t];
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) {
            int off = left ? t - seqs.get(i).length : 0;
            for (int j = 0; j < seqs.get(i).length; j++) {
                ids[i * t + off + j] = seqs.get(i)[j];
                mask[i * t + off + j] = 1;
            }
        }
        try (NDScope ignored = new NDScope()) {
            NDArray x = m.manager().create(ids, new Shape(b, t)), mk = m.manager().create(mask, new Shape(b, t));
            return m.pool(m.hidden(x, mk, false), mk).toFloatArray();
        }
    }
}
