package dev.ffwd.cli;

import dev.ffwd.TinyModels;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.io.TensorStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Each bad input gives a non-zero exit and one line on stderr naming the file and the problem; no stack trace. */
class BadInputTest {

    @TempDir Path tmp;

    record Outcome(int code, String err) {}

    static Outcome ffwd(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            return new Outcome(Main.run(args), buf.toString().strip());
        } finally {
            System.setErr(old);
        }
    }

    static void assertCleanError(Outcome o, String... fragments) {
        assertNotEquals(0, o.code(), "exit code");
        List<String> lines = o.err().lines().filter(l -> !l.startsWith("[W")).toList();  // libtorch warnings aside
        assertEquals(1, lines.size(), "one line expected, got:\n" + o.err());
        assertTrue(lines.get(0).startsWith("ffwd: error: "), lines.get(0));
        for (String f : fragments) assertTrue(lines.get(0).contains(f), "'" + f + "' not in: " + lines.get(0));
    }

    Path copyFixture(String name) throws IOException {
        Path src = TinyModels.dir(name), dst = tmp.resolve(name);
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(src)) {
            for (Path f : s.toList()) Files.copy(f, dst.resolve(f.getFileName()));
        }
        dst.resolve("model.safetensors").toFile().setWritable(true);
        return dst;
    }

    Outcome score(Path model) {
        return ffwd("score", "--model", model.toString(), "--token-ids", "2,40,41");
    }

    @Test
    void truncatedSafetensors() throws IOException {
        Path m = copyFixture("tiny-llama"), f = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(f);
        for (int cut : new int[]{4, 20, b.length / 2, b.length - 1}) {
            Files.write(f, java.util.Arrays.copyOf(b, cut));
            assertCleanError(score(m), f.toString());
        }
    }

    @Test
    void headerThatLies() throws IOException {
        Path m = copyFixture("tiny-llama"), f = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(f);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, b.length);  // header length past the end
        Files.write(f, b);
        assertCleanError(score(m), f.toString(), "past the end");
    }

    @Test
    void missingTensor() throws IOException {
        Path m = copyFixture("tiny-gpt-neox");
        rewriteWithout(m.resolve("model.safetensors"), "gpt_neox.layers.1.mlp.dense_4h_to_h.weight");
        assertCleanError(score(m), "model.safetensors", "missing tensor 'gpt_neox.layers.1.mlp.dense_4h_to_h.weight'");
    }

    @Test
    void configDisagreesWithWeights() throws IOException {
        Path m = copyFixture("tiny-llama");
        Path cfg = m.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"intermediate_size\": 64", "\"intermediate_size\": 96"));
        assertCleanError(score(m), "model.safetensors", "mlp.gate_proj.weight", "[64, 32]", "config.json implies [96, 32]");
    }

    @Test
    void missingConfigKeyAndInconsistentHeads() throws IOException {
        Path m = copyFixture("tiny-llama");
        Path cfg = m.resolve("config.json");
        String orig = Files.readString(cfg);
        Files.writeString(cfg, orig.replace("\"num_hidden_layers\": 2,", ""));
        assertCleanError(score(m), cfg.toString(), "missing required key 'num_hidden_layers'");
        Files.writeString(cfg, orig.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
        assertCleanError(score(m), cfg.toString(), "num_key_value_heads 3");
        Files.writeString(cfg, orig.replace("\"model_type\": \"llama\"", "\"model_type\": \"t5\""));
        assertCleanError(score(m), cfg.toString(), "unsupported model_type 't5'", "gpt_neox");
    }

    @Test
    void missingOrBrokenTokenizer() throws IOException {
        Path m = copyFixture("tiny-llama");
        Files.delete(m.resolve("tokenizer.json"));
        assertCleanError(score(m), "tokenizer.json not found");
        Files.writeString(m.resolve("tokenizer.json"), "{\"model\": ");
        assertCleanError(score(m), m.resolve("tokenizer.json").toString());
    }

    @Test
    void malformedJsonlNamesTheLine() throws IOException {
        Path m = TinyModels.dir("tiny-llama");
        Path data = tmp.resolve("d.jsonl");
        Files.writeString(data, "{\"text\": \"the cat\"}\n{\"text\": \"a dog\"\n");
        assertCleanError(train(m, data, "text"), data + ":2", "invalid JSON");
        Files.writeString(data, "{\"text\": \"the cat\"}\n\n{\"txt\": \"a dog\"}\n");
        assertCleanError(train(m, data, "text"), data + ":3", "missing field 'text'");
        Files.writeString(data, "{\"text\": 5}\n");
        assertCleanError(train(m, data, "text"), data + ":1", "must be a string");
        Files.writeString(data, "{\"instruction\": \"say hi\", \"output\": [1]}\n");
        assertCleanError(train(m, data, "instruction"), data + ":1", "'output' must be a string");
        Files.writeString(data, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n");
        assertCleanError(train(m, data, "chat"), data + ":1", "role must be");
        Files.writeString(data, "");
        assertCleanError(train(m, data, "text"), data.toString(), "empty");
    }

    @Test
    void outputFolderIsNeverSilentlyOverwritten() throws IOException {
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "precious");
        Path data = tmp.resolve("d.jsonl");
        Files.writeString(data, "{\"text\": \"the cat\"}\n");
        Outcome o = ffwd("train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(), "--out", out.toString());
        assertCleanError(o, out.toString(), "--overwrite");
        assertEquals("precious", Files.readString(out.resolve("keep.txt")));
    }

    @Test
    void resumeWithoutACheckpointIsAnErrorUnlessStartingIsAsked() throws IOException {
        Path out = tmp.resolve("typo"), data = tmp.resolve("d.jsonl");
        Files.writeString(data, "{\"text\": \"the cat sat on the mat\"}\n".repeat(20));
        String[] args = {"train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(),
                "--out", out.toString(), "--max-steps", "1", "--test-fraction", "0.2"};
        assertCleanError(ffwd(concat(args, "--resume")), out.resolve("checkpoint.safetensors").toString(), "no checkpoint", "--resume-or-start");
        assertFalse(Files.exists(out), "nothing written");
        assertEquals(0, ffwd(concat(args, "--resume-or-start")).code());
        assertTrue(Files.exists(out.resolve("checkpoint.safetensors")));
        assertEquals(0, ffwd(concat(args, "--resume")).code(), "now there is one");
    }

    /** Values that once trained with exit 0: each is now one line naming the setting, and nothing is written. */
    @Test
    void outOfRangeNumbersAreRefusedBeforeAnythingIsWritten() throws IOException {
        Path data = tmp.resolve("d.jsonl"), out = tmp.resolve("bad");
        Files.writeString(data, "{\"text\": \"the cat sat on the mat\"}\n".repeat(20));
        String[][] bad = {{"--lora-dropout", "NaN", "dropout"}, {"--lora-alpha", "-1", "alpha"}, {"--limit", "-5", "limit"},
                {"--warmup", "-1", "warm-up"}, {"--clip", "-1", "clip"}, {"--epochs", "0", "epochs"}, {"--epochs", "NaN", "epochs"},
                {"--test-fraction", "1.5", "test fraction"}, {"--max-length", "1", "max length"}, {"--ff-val-size", "0", "validation set", "--ff"}};
        for (String[] b : bad) {
            String[] args = {"train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(),
                    "--out", out.toString(), "--max-steps", "1", b[0], b[1]};
            assertCleanError(ffwd(b.length > 3 ? concat(args, b[3]) : args), b[2]);
            assertFalse(Files.exists(out), b[0] + " " + b[1] + ": nothing written");
        }
    }

    @Test
    void aCommandLineThatDoesNotParseIsOneLineAndTheUsageExitCode() {
        Outcome o = ffwd("train", "--lora-r", "eight");
        assertCleanError(o, "--lora-r", "see 'ffwd train --help'");
        assertEquals(Main.USAGE, o.code());
        assertEquals(Main.USAGE, ffwd("trian").code());
    }

    /**
     * An ffwd adapter records its base (model_type and a digest of config.json and the weight headers): merge, eval and
     * export-gguf refuse another base with the same shapes, naming both, unless --allow-other-base.
     */
    @Test
    void anAdapterIsRefusedOnAnotherBaseUnlessAllowed() throws IOException {
        Path data = tmp.resolve("d.jsonl"), run = tmp.resolve("run");
        Files.writeString(data, "{\"text\": \"the cat sat on the mat\"}\n".repeat(20));
        Path llama = TinyModels.dir("tiny-llama"), other = copyFixture("tiny-llama");
        Files.writeString(other.resolve("config.json"), Files.readString(other.resolve("config.json")).replaceFirst("\\{", "{\"rope_theta\": 5000.0, "));
        assertEquals(0, ffwd("train", "--model", llama.toString(), "--data", data.toString(), "--out", run.toString(), "--max-steps", "1").code());
        String adapter = run.resolve("adapter").toString();
        List<String[]> uses = List.of(
                new String[]{"merge", "--model", other.toString(), "--adapter", adapter, "--out", tmp.resolve("merged").toString()},
                new String[]{"eval", "--model", other.toString(), "--adapter", adapter, "--data", data.toString()},
                new String[]{"export-gguf", "--model", other.toString(), "--adapter", adapter, "--out", tmp.resolve("a.gguf").toString()});
        for (String[] use : uses) {
            assertCleanError(ffwd(use), adapter, "trained on a llama model", other.toString(), "--allow-other-base");
            assertEquals(0, ffwd(concat(use, "--allow-other-base")).code(), use[0] + " --allow-other-base");
        }
        assertEquals(0, ffwd("eval", "--model", llama.toString(), "--adapter", adapter, "--data", data.toString()).code(), "its own base");
    }

    @Test
    void aWrongChoiceListsTheChoices() throws IOException {
        Path data = tmp.resolve("d.jsonl");
        Files.writeString(data, "{\"text\": \"the cat sat on the mat\"}\n".repeat(20));
        assertCleanError(ffwd("train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(),
                "--out", tmp.resolve("x").toString(), "--schedule", "poly"), "--schedule: unknown value 'poly'", "constant, linear, cosine");
        assertCleanError(ffwd("bench", "--shape", "gpt5"), "--shape: unknown value 'gpt5'", "pythia_70m");
    }

    /** --config works on every command, and a key that is not one of the command's options is refused, naming it. */
    @Test
    void configFileOnAnyCommandAndUnknownKeysRefused() throws IOException {
        Path good = tmp.resolve("score.yaml"), bad = tmp.resolve("train.yaml");
        Files.writeString(good, "json: true\n");
        Cli.Result r = Cli.run("score", "--model", TinyModels.dir("tiny-llama").toString(), "--token-ids", "2,40,41", "--config", good.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"mean_nll\""), "the config's json: true took effect: " + r.out());
        Files.writeString(bad, "lora-r: 8\nlora_rank: 8\n");
        assertCleanError(ffwd("train", "--config", bad.toString()), bad.toString(), "unknown option 'lora_rank'", "ffwd train");
    }

    /** --data - reads standard input (copied once, since the data is read again for the checkpoint's digest). */
    @Test
    void dataFromStandardInput() throws IOException {
        java.io.InputStream old = System.in;
        System.setIn(new java.io.ByteArrayInputStream("{\"text\": \"the cat sat on the mat\"}\n".repeat(20).getBytes()));
        try {
            Cli.Result r = Cli.run("train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", "-",
                    "--out", tmp.resolve("stdin-run").toString(), "--max-steps", "1");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("data: 18 train, 2 test"), r.err());
        } finally {
            System.setIn(old);
        }
    }

    /**
     * Merging an encoder's classification adapter would give a folder transformers classifies differently (its
     * BertForSequenceClassification pools [CLS] through the pooler; ffwd averages tokens): refused, saying why.
     */
    @Test
    void mergingAnEncoderClassifierIsRefusedWithTheReason() throws IOException {
        Path data = CompareCommandTest.twoClasses(tmp, 40), run = tmp.resolve("cls");
        assertEquals(0, ffwd("train", "--model", "builtin", "--data", data.toString(), "--format", "classification",
                "--max-length", "12", "--lora-r", "2", "--out", run.toString(), "--max-steps", "1").code());
        assertCleanError(ffwd("merge", "--model", "builtin", "--adapter", run.resolve("adapter").toString(), "--out", tmp.resolve("m").toString()),
                "classification adapter cannot be merged", "[CLS]", "unmerged");
    }

    static String[] concat(String[] a, String... b) {
        return Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
    }

    Outcome train(Path model, Path data, String format) {
        return ffwd("train", "--model", model.toString(), "--data", data.toString(), "--format", format,
                "--out", tmp.resolve("run-" + System.nanoTime()).toString(), "--max-steps", "1");
    }

    static void rewriteWithout(Path file, String drop) throws IOException {
        List<RawTensor> keep = new ArrayList<>();
        try (TensorStore s = SafetensorsReader.open(file)) {
            for (String n : s.names()) if (!n.equals(drop)) keep.add(RawTensor.ofFloats(n, s.get(n).shape(), s.get(n).toFloats()));
        }
        SafetensorsWriter.write(file, keep, Map.of());
    }
}
