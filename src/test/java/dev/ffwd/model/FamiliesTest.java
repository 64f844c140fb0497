package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.SharedFixtures;
import dev.ffwd.TinyModels;
import dev.ffwd.TestData;
import dev.ffwd.cli.Main;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.TrainingRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/** Every family: two LoRA steps, the PEFT adapter, merge (through the CLI) and reload; key layouts; refused config features. */
class FamiliesTest {

    @TempDir Path tmp;

    static final long[] IDS = {90, 60, 65, 86, 55, 74, 80, 21, 5};
    static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gpt-neox", "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-mistral", "tiny-gpt2"})
    void twoStepsThenAdapterAndMergeGiveTheTrainedModel(String name) throws Exception {
        Path fixture = TinyModels.dir(name);
        Arch arch = ModelConfig.load(fixture.resolve("config.json")).arch();
        List<String> targets = arch.defaultTargets();
        FineTune.Options o = FineTune.Options.builder(fixture.toString(), TestData.stories(tmp, 40, 1),
                new LoraConfig(4, 8, 0, targets, false)).maxLength(32).train(TestData.config(2, 5e-2)).testFraction(0.3)
                .validationSize(4).build();
        double[] base, trained;
        Path adapter = tmp.resolve("adapter");
        List<String> modules;
        try (FineTune ft = FineTune.prepare(o)) {
            Transformer m = ft.pretrained.model();
            base = Scoring.tokenLogprobs(m, IDS);
            TrainingRun run = ft.newRun(FfConfig.off(), null);
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            assertEquals(2, run.trainer().steps());
            trained = Scoring.tokenLogprobs(m, IDS);
            ft.saveAdapter(adapter);
            modules = m.linears().keySet().stream().filter(o.lora()::matches).toList();
        }
        assertFalse(modules.isEmpty());
        double moved = 0;
        for (int t = 1; t < IDS.length; t++) moved = Math.max(moved, Math.abs(trained[t] - base[t]));
        assertTrue(moved > 1e-4, name + ": two steps did not change the model (max |Δ logprob| " + moved + ")");

        // PEFT keys: the HF module path of each adapted layer, under base_model.model.
        try (PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
            List<String> expected = new ArrayList<>();
            for (String mod : modules) {
                expected.add(Lora.PEFT_PREFIX + mod + ".lora_A.weight");
                expected.add(Lora.PEFT_PREFIX + mod + ".lora_B.weight");
            }
            assertEquals(new java.util.TreeSet<>(expected), new java.util.TreeSet<>(a.tensors().names()));
        }
        // GPT-2's Conv1D layers store W as [in, out]: PEFT's fan_in_fan_out says so
        assertEquals(name.equals("tiny-gpt2"), JSON.readTree(adapter.resolve("adapter_config.json").toFile()).get("fan_in_fan_out").asBoolean());

        // The adapter loaded onto a fresh base reproduces the trained model; so does the merged folder.
        try (Pretrained p = Pretrained.load(fixture); PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
            Lora.load(p.model(), a.config(), a.tensors());
            assertClose(trained, Scoring.tokenLogprobs(p.model(), IDS), 1e-5, name + " adapter");
        }
        Path merged = tmp.resolve("merged");
        assertEquals(0, Main.run("merge", "--model", fixture.toString(), "--adapter", adapter.toString(), "--out", merged.toString()));
        try (TensorStore original = SafetensorsReader.openModelDir(fixture); TensorStore out = SafetensorsReader.openModelDir(merged)) {
            for (String t : out.names()) {  // same names and stored layout (GPT-2's Conv1D stays [in, out])
                String src = original.contains(t) ? t : t.replaceFirst("^transformer\\.", "");
                assertArrayEquals(original.get(src).shape(), out.get(t).shape(), t);
            }
        }
        try (Pretrained p = Pretrained.load(merged)) {
            assertClose(trained, Scoring.tokenLogprobs(p.model(), IDS), 1e-4, name + " merged");
        }
    }

    @Test
    void gpt2LoadsBareKeysAndIgnoresAttentionBuffers() throws Exception {
        Path fixture = TinyModels.dir("tiny-gpt2");  // keys under "transformer."
        Path bare = copyFixture(fixture, tmp.resolve("bare"));
        List<RawTensor> tensors = new ArrayList<>();
        try (TensorStore s = SafetensorsReader.openModelDir(fixture)) {
            for (String n : s.names()) {
                RawTensor t = s.get(n);
                tensors.add(RawTensor.ofFloats(n.replaceFirst("^transformer\\.", ""), t.shape(), t.toFloats()));
            }
        }
        tensors.add(RawTensor.ofFloats("h.0.attn.bias", new long[]{1, 1, 2, 2}, new float[]{1, 0, 1, 1}));
        tensors.add(RawTensor.ofFloats("h.0.attn.masked_bias", new long[]{}, new float[]{-1e4f}));
        SafetensorsWriter.write(bare.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        double[] expected;
        try (Pretrained p = Pretrained.load(fixture)) {
            expected = Scoring.tokenLogprobs(p.model(), IDS);
        }
        try (Pretrained p = Pretrained.load(bare)) {
            assertEquals("transformer.h.0.attn.c_attn", p.model().linears().keySet().iterator().next());
            assertClose(expected, Scoring.tokenLogprobs(p.model(), IDS), 1e-6, "bare keys");
        }
    }

    @Test
    void defaultTargetsComeFromTheLayout() {
        assertEquals(List.of("query_key_value"), GptNeoX.ARCH.defaultTargets());
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj"), Llama.ARCH.defaultTargets());
        assertEquals(List.of("qkv_proj", "o_proj"), Phi3.ARCH.defaultTargets());
        assertEquals(List.of("c_attn", "attn.c_proj"), Gpt2.ARCH.defaultTargets());
        assertEquals(List.of("query", "key", "value"), Bert.ARCH.defaultTargets());
    }

    @Test
    void unsupportedFeaturesAreRefusedByName() throws Exception {
        assertRefused("tiny-qwen2", c -> c.put("use_sliding_window", true).put("sliding_window", 4), "sliding_window");
        assertRefused("tiny-mistral", c -> c.put("sliding_window", 4), "sliding_window");
        assertRefused("tiny-llama", c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0), "rope_scaling");
        assertRefused("tiny-phi3", c -> c.putObject("rope_scaling").put("type", "longrope"), "rope_scaling");
        assertRefused("tiny-gemma", c -> c.put("attn_logit_softcapping", 50.0), "attn_logit_softcapping");
        assertRefused("tiny-gemma", c -> c.put("final_logit_softcapping", 30.0), "final_logit_softcapping");
        assertRefused("tiny-gpt2", c -> c.put("scale_attn_by_inverse_layer_idx", true), "scale_attn_by_inverse_layer_idx");
    }

    /** A window at least as long as the sequence changes nothing, so it is accepted. */
    @Test
    void aSlidingWindowAtLeastTheSequenceIsAccepted() throws Exception {
        Path dir = edited(SharedFixtures.fixture("tiny-mistral"), c -> c.put("sliding_window", IDS.length));
        try (Pretrained p = Pretrained.load(dir)) {
            assertClose(reference(SharedFixtures.fixture("tiny-mistral")), Scoring.tokenLogprobs(p.model(), IDS), 1e-4, "window ≥ T");
        }
    }

    private void assertRefused(String name, Consumer<ObjectNode> edit, String field) throws Exception {
        Path dir = edited(TinyModels.dir(name), edit);
        FfwdException e = assertThrows(FfwdException.class, () -> {
            try (Pretrained p = Pretrained.load(dir)) {
                Scoring.tokenLogprobs(p.model(), IDS);
            }
        });
        assertTrue(e.getMessage().contains(field), e.getMessage());
    }

    private int edits;

    private Path edited(Path fixture, Consumer<ObjectNode> edit) throws Exception {
        Path dir = copyFixture(fixture, tmp.resolve(fixture.getFileName() + "-" + edits++));
        Files.copy(fixture.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ObjectNode c = (ObjectNode) JSON.readTree(fixture.resolve("config.json").toFile());
        edit.accept(c);
        Files.writeString(dir.resolve("config.json"), c.toString());
        return dir;
    }

    static Path copyFixture(Path fixture, Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String f : new String[]{"config.json", "tokenizer.json"}) Files.copy(fixture.resolve(f), dir.resolve(f));
        return dir;
    }

    static double[] reference(Path fixture) throws Exception {
        JsonNode ref = JSON.readTree(fixture.resolve("reference.json").toFile());
        double[] lp = new double[IDS.length];
        for (int t = 0; t < IDS.length; t++) {
            assertEquals(IDS[t], ref.get("token_ids").get(t).asLong());
            lp[t] = t == 0 ? Double.NaN : ref.get("token_logprobs").get(t).asDouble();
        }
        return lp;
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length);
        for (int t = 1; t < expected.length; t++) assertEquals(expected[t], actual[t], tol, what + " token " + t);
    }
}
