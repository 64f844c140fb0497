package dev.ffwd.lora;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import dev.ffwd.TinyModels;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.model.Pretrained;
import dev.ffwd.optim.Param;
import dev.ffwd.train.LanguageModeling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LoraTest {

    @TempDir Path tmp;

    static final long[] IDS = {2, 37, 38, 5, 41, 56, 4, 47, 92, 41, 12, 68, 92};

    static Batch batch(Pretrained p) {
        boolean[] t = new boolean[IDS.length];
        java.util.Arrays.fill(t, true);
        return Batch.of(List.of(new Example(IDS, t, -1), new Example(java.util.Arrays.copyOf(IDS, 8), java.util.Arrays.copyOf(t, 8), -1)),
                p.model().manager());
    }

    static double loss(LanguageModeling lm, Batch b) {
        try (NDScope ignored = new NDScope()) {
            return lm.loss(b, false).mean().getFloat();
        }
    }

    /** B is made non-zero so that both A's and B's gradients are informative. */
    static void randomize(Lora lora, long seed) {
        Random r = new Random(seed);
        for (Param p : lora.params()) {
            float[] v = new float[(int) p.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.3);
            p.value().set(v);
        }
    }

    @Test
    void doraIsAVariantBesideLoraWithItsMagnitudeAfterAAndB() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            for (boolean dora : new boolean[]{false, true}) {
                Lora lora = Lora.attach(p.model(), new LoraConfig(2, 4, 0, List.of("q_proj"), dora), 3);
                dev.ffwd.model.Linear q = p.model().linears().get("model.layers.0.self_attn.q_proj");
                assertEquals(dora ? DoraAdapter.class : LoraAdapter.class, q.adapter().getClass());
                List<String> first = lora.params().stream().map(Param::name).limit(dora ? 3 : 2).toList();
                String at = Lora.PEFT_PREFIX + "model.layers.0.self_attn.q_proj.";
                assertEquals(dora ? List.of(at + "lora_A.weight", at + "lora_B.weight", at + "lora_magnitude_vector")
                        : List.of(at + "lora_A.weight", at + "lora_B.weight"), first);
                lora.detach();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void gradientsMatchFiniteDifferences(boolean dora) {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            Lora lora = Lora.attach(p.model(), new LoraConfig(2, 4, 0, List.of("q_proj", "down_proj"), dora), 3);
            randomize(lora, 5);
            if (dora) for (Param q : lora.params()) if (q.name().endsWith("magnitude_vector")) q.value().addi(1f);
            LanguageModeling lm = new LanguageModeling(p.model());
            Batch b = batch(p);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector(); NDScope ignored = new NDScope()) {
                gc.backward(lm.loss(b, true).mean());
            }
            Random r = new Random(11);
            int checked = 0;
            for (Param q : lora.params()) {
                // DoRA (as PEFT and the paper's §4.3) treats ‖W + sBA‖ as a constant in backward, so only the
                // magnitude's gradient is the true derivative; A and B are checked in the plain-LoRA case.
                if (dora && !q.name().endsWith("lora_magnitude_vector")) continue;
                float[] grad;
                try (NDScope ignored = new NDScope()) {
                    grad = q.value().getGradient().toFloatArray();
                }
                for (int k = 0; k < 3; k++, checked++) {
                    int i = r.nextInt(grad.length);
                    NDIndex at = new NDIndex(q.value().getShape().getShape().length == 1 ? new long[]{i}
                            : new long[]{i / q.value().getShape().get(1), i % q.value().getShape().get(1)});
                    float v = q.value().get(at).getFloat();
                    double eps = 1e-2;
                    q.value().set(at, (float) (v + eps));
                    double up = loss(lm, b);
                    q.value().set(at, (float) (v - eps));
                    double down = loss(lm, b);
                    q.value().set(at, v);
                    double fd = (up - down) / (2 * eps);
                    assertEquals(fd, grad[i], 2e-3 + 0.03 * Math.abs(fd), q.name() + "[" + i + "]");
                }
            }
            assertTrue(checked >= (dora ? 6 : 12));
        }
    }

    @Test
    void mergeMatchesAdapterOutputAndUnmergeRestoresBaseBitForBit() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-gpt-neox"))) {
            float[] base = p.model().linears().get("gpt_neox.layers.0.attention.query_key_value").weight().toFloatArray();
            Lora lora = Lora.attach(p.model(), new LoraConfig(4, 8, 0.1, List.of("query_key_value", "dense_4h_to_h"), false), 1);
            randomize(lora, 2);
            LanguageModeling lm = new LanguageModeling(p.model());
            Batch b = batch(p);
            double withAdapters = loss(lm, b);
            lora.merge();
            assertEquals(withAdapters, loss(lm, b), 1e-4);
            lora.unmerge();
            assertArrayEquals(base, p.model().linears().get("gpt_neox.layers.0.attention.query_key_value").weight().toFloatArray());
            assertEquals(withAdapters, loss(lm, b), 1e-6);
            lora.detach();
            assertNull(p.model().linears().get("gpt_neox.layers.0.attention.query_key_value").adapter());
        }
    }

    @Test
    void freshAdaptersLeaveTheModelUnchanged() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            LanguageModeling lm = new LanguageModeling(p.model());
            double before = loss(lm, batch(p));
            Lora lora = Lora.attach(p.model(), new LoraConfig(4, 16, 0, List.of("q_proj", "k_proj", "v_proj", "o_proj"), false), 9);
            assertEquals(before, loss(lm, batch(p)), 1e-6);
            assertEquals(2 * 4 * 2, lora.params().size());  // 2 layers x 4 modules x (A, B)
            assertEquals("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", lora.params().get(0).name());
        }
    }

    @Test
    void peftAdapterRoundTrips() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            LoraConfig cfg = new LoraConfig(4, 16, 0.1, List.of("q_proj", "v_proj"), true);
            Lora lora = Lora.attach(p.model(), cfg, 4);
            randomize(lora, 6);
            double expected = loss(new LanguageModeling(p.model()), batch(p));
            List<RawTensor> ts = lora.params().stream().map(q -> RawTensor.ofFloats(q.name(), q.value().getShape().getShape(), q.toFloats())).toList();
            PeftAdapter.save(tmp, cfg, "CAUSAL_LM", "x", List.of(), ts);
            lora.detach();
            try (PeftAdapter.Loaded a = PeftAdapter.load(tmp)) {
                assertEquals(cfg, a.config());
                assertTrue(a.tensors().contains("base_model.model.model.layers.1.self_attn.v_proj.lora_magnitude_vector"));
                Lora back = Lora.load(p.model(), a.config(), a.tensors());
                for (int i = 0; i < ts.size(); i++) assertArrayEquals(ts.get(i).toFloats(), back.params().get(i).toFloats());
                assertEquals(expected, loss(new LanguageModeling(p.model()), batch(p)), 1e-6);
            }
        }
    }

    @Test
    void targetsFollowPeftSuffixAndRegexRules() {
        LoraConfig c = new LoraConfig(8, 16, 0, List.of("query_key_value", "re:.*layers\\.1\\.mlp\\..*"), false);
        assertTrue(c.matches("gpt_neox.layers.0.attention.query_key_value"));
        assertFalse(c.matches("gpt_neox.layers.0.attention.xquery_key_value"));
        assertTrue(c.matches("gpt_neox.layers.1.mlp.dense_h_to_4h"));
        assertFalse(c.matches("gpt_neox.layers.0.mlp.dense_h_to_4h"));
        assertThrows(IllegalArgumentException.class, () -> new LoraConfig(0, 16, 0, List.of("q"), false));
    }

}
