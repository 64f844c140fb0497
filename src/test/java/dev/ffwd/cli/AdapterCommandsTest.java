package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** score and generate take a trained adapter unmerged, and agree with the merged folder. */
class AdapterCommandsTest {

    @TempDir Path tmp;

    @Test
    void scoreAndGenerateWithAnAdapterEqualTheMergedModel() throws Exception {
        Path data = tmp.resolve("d.jsonl"), run = tmp.resolve("run"), merged = tmp.resolve("merged");
        Files.writeString(data, "{\"text\": \"the cat sat on the mat and the dog sat on the log\"}\n".repeat(24));
        String llama = TinyModels.dir("tiny-llama").toString();
        assertEquals(0, Cli.run("train", "--model", llama, "--data", data.toString(), "--out", run.toString(), "--max-steps", "4",
                "--optimizer", "adamw", "--lr", "1e-2", "--lora-r", "4", "--eval-every", "2").code());
        String adapter = run.resolve("adapter-last").toString();
        assertEquals(0, Cli.run("merge", "--model", llama, "--adapter", adapter, "--out", merged.toString()).code());

        String[] ids = {"--token-ids", "2,40,41,42,43,44"};
        JsonNode viaAdapter = json(Cli.run("score", "--model", llama, "--adapter", adapter, "--json", ids[0], ids[1]));
        JsonNode viaMerged = json(Cli.run("score", "--model", merged.toString(), "--json", ids[0], ids[1]));
        JsonNode base = json(Cli.run("score", "--model", llama, "--json", ids[0], ids[1]));
        assertNotEquals(base.path("mean_nll").asDouble(), viaAdapter.path("mean_nll").asDouble(), 1e-4, "the adapter changes the scores");
        for (int t = 1; t < viaMerged.path("token_logprobs").size(); t++)
            assertEquals(viaMerged.path("token_logprobs").get(t).asDouble(), viaAdapter.path("token_logprobs").get(t).asDouble(), 1e-5, "token " + t);

        String[] gen = {"--greedy", "--max-new-tokens", "8", "--ignore-eos", "--json", ids[0], ids[1]};
        assertEquals(json(Cli.run(concat(new String[]{"generate", "--model", merged.toString()}, gen))).path("generated_ids"),
                json(Cli.run(concat(new String[]{"generate", "--model", llama, "--adapter", adapter}, gen))).path("generated_ids"));

        Cli.Result one = Cli.run("score", "--model", llama, "--token-ids", "2");
        assertEquals(Main.BAD_INPUT, one.code());
        assertTrue(one.err().contains("nothing to score"), one.err());
    }

    /** A causal LM's classification adapter merges into its *ForSequenceClassification folder, which predicts alike. */
    @Test
    void aMergedClassifierPredictsAsItsAdapter() throws Exception {
        Path data = CompareCommandTest.twoClasses(tmp, 40), run = tmp.resolve("cls"), merged = tmp.resolve("merged");
        String llama = TinyModels.dir("tiny-llama").toString();
        assertEquals(0, Cli.run("train", "--model", llama, "--data", data.toString(), "--format", "classification", "--max-steps", "3",
                "--optimizer", "adamw", "--lr", "1e-2", "--lora-r", "4", "--out", run.toString()).code());
        String adapter = run.resolve("adapter-last").toString();
        Cli.Result m = Cli.run("merge", "--model", llama, "--adapter", adapter, "--out", merged.toString());
        assertEquals(0, m.code(), m.err());
        assertTrue(m.out().contains("LlamaForSequenceClassification, 2 classes"), m.out());

        JsonNode cfg = new ObjectMapper().readTree(merged.resolve("config.json").toFile());
        assertEquals("LlamaForSequenceClassification", cfg.path("architectures").get(0).asText());
        assertEquals(2, cfg.path("id2label").size());
        assertEquals(cfg.path("id2label").path("0").asText(), cfg.path("label2id").fieldNames().next());
        try (dev.ffwd.io.TensorStore s = dev.ffwd.io.SafetensorsReader.open(merged.resolve("model.safetensors"))) {
            assertArrayEquals(new long[]{2, 32}, s.get("score.weight").shape(), "the head under transformers' name");
            assertFalse(s.names().stream().anyMatch(n -> n.contains("lora_") || n.startsWith("base_model.")), "no PEFT names left");
        }

        Cli.Result viaAdapter = Cli.run("predict", "--model", llama, "--adapter", adapter, "--data", data.toString());
        Cli.Result viaMerged = Cli.run("predict", "--model", merged.toString(), "--data", data.toString());
        assertEquals(0, viaMerged.code(), viaMerged.err());
        String[] a = viaAdapter.out().split("\n"), b = viaMerged.out().split("\n");
        assertEquals(40, a.length);
        for (int i = 0; i < a.length; i++) {
            JsonNode x = new ObjectMapper().readTree(a[i]), y = new ObjectMapper().readTree(b[i]);
            assertEquals(x.path("label").asText(), y.path("label").asText(), "line " + i);
            for (String label : java.util.List.of("pos", "neg"))
                assertEquals(x.path("probabilities").path(label).asDouble(), y.path("probabilities").path(label).asDouble(), 1e-5, "line " + i);
        }
        Cli.Result plain = Cli.run("predict", "--model", llama, "--data", data.toString());
        assertEquals(Main.BAD_INPUT, plain.code());
        assertTrue(plain.err().contains("not a classifier"), plain.err());
    }

    @Test
    void generationSaysWhenItStopsAtTheContextLimit() throws Exception {
        String llama = TinyModels.dir("tiny-llama").toString();
        int limit = dev.ffwd.model.ModelConfig.load(TinyModels.dir("tiny-llama").resolve("config.json")).maxPositions();
        String prompt = String.join(",", java.util.Collections.nCopies(limit - 2, "40"));
        Cli.Result r = Cli.run("generate", "--model", llama, "--token-ids", prompt, "--max-new-tokens", "8", "--greedy", "--ignore-eos", "--json");
        assertEquals(2, json(r).path("generated_ids").size());
        assertTrue(r.err().contains("stopped after 2 of 8 new tokens at the model's context limit of " + limit), r.err());
        Cli.Result free = Cli.run("generate", "--model", llama, "--token-ids", "40,41", "--max-new-tokens", "3", "--greedy", "--ignore-eos");
        assertFalse(free.err().contains("context limit"), free.err());
    }

    private static JsonNode json(Cli.Result r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
