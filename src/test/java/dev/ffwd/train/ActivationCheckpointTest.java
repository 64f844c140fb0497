package dev.ffwd.train;

import ai.djl.ndarray.NDScope;
import dev.ffwd.TinyModels;
import dev.ffwd.data.Example;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;
import dev.ffwd.optim.Schedule;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Activation checkpointing computes the plain path's loss and gradients (every adapter tensor, and the classifier head)
 * up to fp32 rounding, with dropout active: LoRA dropout 0.1 everywhere, and BERT's own hidden and attention dropout.
 * Two micro-batches per step, so that gradients accumulate across the recompute's backward calls and micro-batches.
 */
class ActivationCheckpointTest {

    static final double TOLERANCE = 1e-5;

    @ParameterizedTest
    @CsvSource({
            "tiny-gpt-neox, query_key_value;dense_4h_to_h, 0",
            "tiny-llama, q_proj;v_proj;o_proj;down_proj, 0",
            "tiny-gpt2, c_attn;c_fc, 0",
            "tiny-qwen2, q_proj;k_proj;up_proj, 0",
            "tiny-bert, query;value;output.dense, 3",
            "tiny-bert, query;value;output.dense, 0",  // masked language modelling
            "tiny-llama, q_proj;v_proj, 2"})
    void lossAndEveryGradientMatchThePlainPath(String model, String targets, int classes) {
        try (Pretrained p = Pretrained.load(TinyModels.dir(model))) {
            Transformer m = p.model();
            Lora lora = Lora.attach(m, new LoraConfig(4, 8, 0.1, List.of(targets.split(";")), false), 1);
            Objective objective = Trainable.objective(m, classes, 5, 7);
            List<Param> params = new ArrayList<>(lora.params());
            params.addAll(objective.params());
            Random r = new Random(2);
            for (Param q : lora.params()) {  // B non-zero, so that A's gradient and the upstream gradients are informative
                float[] v = new float[(int) q.size()];
                for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.3);
                q.value().set(v);
            }
            boolean masked = classes == 0 && !m.config.causal();
            List<List<Example>> micros = List.of(examples(r, classes, masked), examples(r, classes, masked));
            Step plain = step(objective, params, micros, false, 0), ckpt = step(objective, params, micros, true, 0);
            assertEquals(plain.loss, ckpt.loss, TOLERANCE * Math.abs(plain.loss), "loss");
            for (int i = 0; i < params.size(); i++) {
                float[] g = plain.grads.get(i), h = ckpt.grads.get(i);
                double scale = 0;
                for (float x : g) scale = Math.max(scale, Math.abs(x));
                assertTrue(scale > 0, params.get(i).name() + " has no gradient");
                for (int j = 0; j < g.length; j++)
                    assertEquals(g[j], h[j], TOLERANCE * scale, params.get(i).name() + "[" + j + "]");
            }
            Step other = step(objective, params, micros, true, 1);
            assertNotEquals(plain.loss, other.loss, "dropout is active: another step draws other masks");
        }
    }

    record Step(double loss, List<float[]> grads) {}

    /** One step's summed gradient (as Trainer takes it), with or without checkpointing; step index {@code step} seeds dropout. */
    private static Step step(Objective objective, List<Param> params, List<List<Example>> micros, boolean checkpoint, long step) {
        TrainConfig cfg = TrainConfig.builder().lr(1e-3).batchSize(3).gradAccum(micros.size()).maxSteps(10).evalEvery(1).evalBatchSize(3)
                .checkpointEvery(10).seed(7).memory(new TrainConfig.Memory(5, checkpoint)).build();
        Gradients.Sum sum;
        List<float[]> grads = new ArrayList<>();
        try (NDScope ignored = new NDScope()) {
            sum = Gradients.local(objective, params, cfg, objective.model().manager()).sum(step, micros);
            for (var g : sum.grads()) grads.add(g.toFloatArray());
        }
        Optimizer.zeroGrad(params);
        return new Step(sum.loss(), grads);
    }

    /**
     * Three rows of different lengths (padding), prompt tokens that are not targets, and labels when classifying; with
     * {@code masked}, the target tokens are masked for masked language modelling (mask id 4).
     */
    private static List<Example> examples(Random r, int classes, boolean masked) {
        List<Example> ex = new ArrayList<>();
        for (int len : new int[]{19, 11, 15}) {
            long[] ids = new long[len];
            for (int i = 0; i < len; i++) ids[i] = 4 + r.nextInt(90);
            boolean[] t = new boolean[len];
            Arrays.fill(t, 3, len, true);
            ex.add(new Example(ids, t, classes == 0 ? -1 : r.nextInt(classes)));
        }
        return masked ? new dev.ffwd.data.Masking(4, 96).apply(ex, r.nextLong()) : ex;
    }
}
