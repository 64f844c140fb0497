package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.RealData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The spam classifier end to end from the CLI: train, then predict and eval on e-mails it never saw. */
class PredictEvalTest {

    @TempDir Path tmp;
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void trainThenPredictAndEvalGiveAnAccuracy() throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(RealData.file("spam-assassin.jsonl")));
        Collections.shuffle(lines, new Random(11));
        Path train = tmp.resolve("train.jsonl"), held = tmp.resolve("held.jsonl"), out = tmp.resolve("run");
        Files.write(train, lines.subList(0, 400));
        Files.write(held, lines.subList(400, 520));

        Cli.Result t = Cli.run("train", "--format", "classification", "--data", train.toString(), "--out", out.toString(),
                "--max-length", "64", "--lora-r", "8", "--lora-alpha", "16", "--lr", "1e-3", "--batch-size", "16",
                "--max-steps", "30", "--eval-every", "10");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("accuracy"), t.out());
        for (String f : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors", "adapter/ffwd_classifier.json",
                "adapter-last/adapter_model.safetensors", "metrics.jsonl"))
            assertTrue(Files.isRegularFile(out.resolve(f)), f);

        List<JsonNode> metrics = new ArrayList<>();
        for (String l : Files.readAllLines(out.resolve("metrics.jsonl"))) metrics.add(JSON.readTree(l));
        assertEquals(List.of(0L, 10L, 20L, 30L), metrics.stream().map(m -> m.get("step").asLong()).toList());
        for (JsonNode m : metrics)
            for (String k : List.of("train_loss", "test_loss", "flops_paper", "flops_exact", "wall_seconds", "accuracy", "macro_f1"))
                assertTrue(m.has(k), k + " missing in " + m);
        assertTrue(metrics.get(0).get("train_loss").isNull());
        assertTrue(metrics.get(3).get("flops_paper").asDouble() > metrics.get(1).get("flops_paper").asDouble());

        Path preds = tmp.resolve("preds.jsonl");
        Cli.Result p = Cli.run("predict", "--adapter", out.resolve("adapter").toString(), "--data", held.toString(), "--out", preds.toString());
        assertEquals(0, p.code(), p.err());
        List<String> predLines = Files.readAllLines(preds), heldLines = Files.readAllLines(held);
        assertEquals(heldLines.size(), predLines.size());
        int agree = 0;
        for (int i = 0; i < predLines.size(); i++) {
            JsonNode pr = JSON.readTree(predLines.get(i));
            assertEquals(i + 1, pr.get("line").asInt());
            double sum = pr.get("probabilities").get("ham").asDouble() + pr.get("probabilities").get("spam").asDouble();
            assertEquals(1.0, sum, 1e-5);
            String gold = JSON.readTree(heldLines.get(i)).get("label").asText();
            if (pr.get("label").asText().equals(gold)) agree++;
        }

        Cli.Result e = Cli.run("eval", "--adapter", out.resolve("adapter").toString(), "--data", held.toString(), "--json");
        assertEquals(0, e.code(), e.err());
        JsonNode m = JSON.readTree(e.out());
        assertEquals(120, m.get("examples").asInt());
        assertEquals(agree / 120.0, m.get("accuracy").asDouble(), 1e-12, "eval and predict disagree");
        double hamShare = heldLines.stream().filter(l -> l.contains("\"label\":\"ham\"")).count() / 120.0;
        assertTrue(m.get("accuracy").asDouble() > Math.max(0.85, hamShare), "accuracy " + m + " vs. majority class " + hamShare);
        assertTrue(m.get("macro_f1").asDouble() > 0.7, m.toString());

        Cli.Result wrong = Cli.run("eval", "--adapter", out.resolve("adapter").toString(), "--data", write("{\"text\": \"hi\", \"label\": \"eggs\"}"));
        assertNotEquals(0, wrong.code());
        assertTrue(wrong.err().contains(":1: label 'eggs' is not one the adapter was trained on [ham, spam]"), wrong.err());
    }

    private String write(String line) throws IOException {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, line + "\n");
        return f.toString();
    }
}
