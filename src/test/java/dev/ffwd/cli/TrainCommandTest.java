package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.SharedFixtures;
import dev.ffwd.TinyModels;
import dev.ffwd.TestData;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** train: plain training without a validation split, best and last adapters, metrics.jsonl, early stopping. */
class TrainCommandTest {

    @TempDir Path tmp;
    static final ObjectMapper JSON = new ObjectMapper();

    List<String> args(Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(),
                "--out", out.toString(), "--batch-size", "8", "--lora-r", "4", "--max-length", "32"));
        a.addAll(List.of(more));
        return a;
    }

    static List<JsonNode> metrics(Path out) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String l : Files.readAllLines(out.resolve("metrics.jsonl"))) rows.add(JSON.readTree(l));
        return rows;
    }

    @Test
    void plainTrainingOn200ExamplesNeedsNoValidationSet() throws IOException {
        Path data = TestData.stories(tmp, 200, 5), out = tmp.resolve("plain");
        Cli.Result r = Cli.run(args(data, out, "--max-steps", "6", "--eval-every", "3", "--lr", "3e-3").toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("180 train, 20 test, 0 validation examples"), r.err());

        List<JsonNode> rows = metrics(out);
        assertEquals(List.of(0L, 3L, 6L), rows.stream().map(m -> m.get("step").asLong()).toList());
        assertFalse(rows.get(0).has("accuracy"), "no accuracy for language modelling");
        // OUT/adapter holds the evaluation with the lowest test loss, OUT/adapter-last the final state
        int best = 0;
        for (int i = 1; i < rows.size(); i++) if (rows.get(i).get("test_loss").asDouble() < rows.get(best).get("test_loss").asDouble()) best = i;
        assertEquals(2, best, "the loss should fall at this learning rate: " + rows);
        assertSameTensors(out.resolve("adapter"), out.resolve("adapter-last"), true);
    }

    /** --checkpoint-activations trains the same adapter (to fp32 rounding) and charges the recompute to the exact FLOPs only. */
    @Test
    void checkpointActivationsTrainsTheSameAdapterAtAHigherExactCost() throws IOException {
        Path data = TestData.stories(tmp, 60, 5), plain = tmp.resolve("plain"), ckpt = tmp.resolve("ckpt");
        String[] common = {"--max-steps", "3", "--eval-every", "3", "--lr", "3e-3", "--lora-dropout", "0.1"};
        Cli.Result a = Cli.run(args(data, plain, common).toArray(String[]::new));
        assertEquals(0, a.code(), a.err());
        List<String> withFlag = args(data, ckpt, common);
        withFlag.add("--checkpoint-activations");
        Cli.Result b = Cli.run(withFlag.toArray(String[]::new));
        assertEquals(0, b.code(), b.err());
        try (TensorStore x = SafetensorsReader.open(plain.resolve("adapter-last/adapter_model.safetensors"));
             TensorStore y = SafetensorsReader.open(ckpt.resolve("adapter-last/adapter_model.safetensors"))) {
            for (String n : x.names()) {
                float[] u = x.get(n).toFloats(), v = y.get(n).toFloats();
                for (int i = 0; i < u.length; i++) assertEquals(u[i], v[i], 1e-5, n + "[" + i + "]");
            }
        }
        JsonNode p = metrics(plain).get(1), c = metrics(ckpt).get(1);
        assertEquals(p.get("flops_paper").asDouble(), c.get("flops_paper").asDouble(), 0);
        assertTrue(c.get("flops_exact").asDouble() > p.get("flops_exact").asDouble(), "the recompute is charged: " + p + " vs " + c);
    }

    @Test
    void chatDataIsTrainedAndEvaluatedInTheModelsOwnTemplate() throws IOException {
        Path src = TinyModels.dir("tiny-llama"), model = tmp.resolve("chat-model");
        Files.createDirectories(model);
        for (String f : new String[]{"config.json", "tokenizer.json", "model.safetensors"}) Files.copy(src.resolve(f), model.resolve(f));
        Files.writeString(model.resolve("tokenizer_config.json"), JSON.createObjectNode().put("bos_token", "<s>").put("eos_token", "</s>")
                .put("chat_template", SharedFixtures.WORD_CHAT_TEMPLATE).toString());
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++)
            lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"the " + (i % 2 == 0 ? "cat" : "dog")
                    + "\"}, {\"role\": \"assistant\", \"content\": \"a " + (i % 2 == 0 ? "cat" : "dog") + " ran\"}]}");
        Path data = Files.write(tmp.resolve("chat.jsonl"), lines), out = tmp.resolve("chat-run");
        List<String> a = args(data, out, "--format", "chat", "--max-steps", "2", "--eval-every", "2");
        a.set(a.indexOf("--model") + 1, model.toString());
        Cli.Result r = Cli.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertEquals(2, metrics(out).size());
        r = Cli.run("eval", "--model", model.toString(), "--adapter", out.resolve("adapter").toString(), "--data", data.toString(), "--format", "chat");
        assertEquals(0, r.code(), r.err());
        // the template is the one in use: when it refuses, training names the data line and the template file
        Files.writeString(model.resolve("chat_template.jinja"), "{{ raise_exception('refused') }}");
        r = Cli.run(args(data, tmp.resolve("refused"), "--format", "chat", "--max-steps", "1").stream()
                .map(s -> s.equals(src.toString()) ? model.toString() : s).toArray(String[]::new));
        assertEquals(1, r.code());
        assertEquals("ffwd: error: " + data + ":1: " + model.resolve("chat_template.jinja") + ": chat_template: refused", r.err().strip());
    }

    @Test
    void fastForwardStillNeedsItsValidationSetAndSaysHowToGetIt() throws IOException {
        Path data = TestData.stories(tmp, 200, 5), out = tmp.resolve("ff");
        Cli.Result r = Cli.run(args(data, out, "--max-steps", "2", "--ff").toArray(String[]::new));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--ff-val-size") && r.err().contains("--test-fraction"), r.err());
        assertFalse(Files.exists(out), "a failed run must not leave an empty OUT");
    }

    @Test
    void patienceStopsEarlyAndKeepsTheBestAdapter() throws IOException {
        Path data = TestData.stories(tmp, 200, 5), out = tmp.resolve("patience");
        // a large learning rate: the test loss stops improving by more than the plateau's minimum delta within 60 steps
        Cli.Result r = Cli.run(args(data, out, "--max-steps", "60", "--eval-every", "1", "--lr", "0.3", "--patience", "2").toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<JsonNode> rows = metrics(out);
        double[] loss = rows.stream().mapToDouble(x -> x.get("test_loss").asDouble()).toArray();
        assertTrue(rows.get(rows.size() - 1).get("step").asLong() < 60, "did not stop early: " + rows.size() + " evaluations");
        assertTrue(r.out().contains("stopped early"), r.out());
        assertTrue(plateau(loss, loss.length, 2), "stopped without a plateau: " + rows);
        assertFalse(plateau(loss, loss.length - 1, 2), "should have stopped one evaluation earlier: " + rows);
        int best = 0;
        for (int i = 1; i < loss.length; i++) if (loss[i] < loss[best]) best = i;
        assertSameTensors(out.resolve("adapter"), out.resolve("adapter-last"), best == loss.length - 1);
    }

    /** TrainingRun's rule: none of the last {@code patience} of the first {@code n} losses beats the earlier best by MIN_DELTA. */
    static boolean plateau(double[] loss, int n, int patience) {
        if (n <= patience) return false;  // as TrainingRun: no earlier best to compare with yet
        double before = java.util.Arrays.stream(loss, 0, n - patience).min().orElseThrow();
        double recent = java.util.Arrays.stream(loss, n - patience, n).min().orElseThrow();
        return recent > before - dev.ffwd.train.TrainingRun.StopRule.MIN_DELTA;
    }

    static void assertSameTensors(Path a, Path b, boolean same) throws IOException {
        try (TensorStore x = SafetensorsReader.open(a.resolve("adapter_model.safetensors"));
             TensorStore y = SafetensorsReader.open(b.resolve("adapter_model.safetensors"))) {
            assertEquals(x.names(), y.names());
            boolean equal = x.names().stream().allMatch(n -> Arrays.equals(x.get(n).toFloats(), y.get(n).toFloats()));
            assertEquals(same, equal, "adapters " + a + " and " + b + (same ? " differ" : " are equal"));
        }
    }
}
