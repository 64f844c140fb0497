package dev.ffwd.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import dev.ffwd.TinyModels;
import dev.ffwd.bench.BenchModel;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The chunked LM loss equals the loss over full logits, in value and in every adapter gradient, up to fp32 rounding. */
class ChunkedLossTest {

    @TempDir Path tmp;

    /** A generated GPT-NeoX with a 3,000-token vocabulary, so that chunks cut through a real softmax width. */
    static final String NEOX = """
            {"model_type": "gpt_neox", "vocab_size": 3000, "hidden_size": 64, "num_attention_heads": 4,
             "num_hidden_layers": 2, "intermediate_size": 128, "rotary_pct": 0.25, "rotary_emb_base": 10000,
             "layer_norm_eps": 1e-5, "use_parallel_residual": true, "hidden_act": "gelu", "max_position_embeddings": 64,
             "tie_word_embeddings": false}""";

    @Test
    void llamaLossAndGradientsMatchUnchunked() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            check(p.model(), List.of("q_proj", "v_proj", "down_proj"), 96);
        }
    }

    @Test
    void generatedModelLossAndGradientsMatchUnchunked() throws Exception {
        dev.ffwd.model.RandomCheckpoint.write(tmp, NEOX, 3);
        ModelConfig c = ModelConfig.load(tmp.resolve("config.json"));
        try (Transformer m = Pretrained.build(c, SafetensorsReader.open(tmp.resolve("model.safetensors")), NDManager.newBaseManager())) {
            check(m, List.of("query_key_value", "dense_4h_to_h"), 3000);
        }
    }

    private static void check(Transformer m, List<String> targets, int vocab) {
        Lora lora = Lora.attach(m, new LoraConfig(4, 8, 0, targets, false), 1);
        Random r = new Random(2);
        for (Param q : lora.params()) {  // B non-zero, so that A's gradient is informative too
            float[] v = new float[(int) q.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.3);
            q.value().set(v);
        }
        Batch b = batch(m.manager(), vocab);
        Result full = run(lora, () -> unchunked(m, b));
        for (int chunk : new int[]{1, 7, 16, 100_000}) {
            Result c = run(lora, () -> new LanguageModeling(m, chunk).loss(b, true));
            assertEquals(full.loss, c.loss, 1e-6 * Math.abs(full.loss), "loss, chunk " + chunk);
            for (int i = 0; i < full.grads.size(); i++) {
                float[] g = full.grads.get(i), h = c.grads.get(i);
                double scale = 0;
                for (float x : g) scale = Math.max(scale, Math.abs(x));
                assertTrue(scale > 0, lora.params().get(i).name() + " has no gradient");
                for (int j = 0; j < g.length; j++)
                    assertEquals(g[j], h[j], 1e-5 * scale, lora.params().get(i).name() + "[" + j + "], chunk " + chunk);
            }
        }
        try (NDScope ignored = new NDScope()) {  // evaluation (no graph) gives the same value as training, and each row's sum
            Objective.Loss eval = new LanguageModeling(m, 5).loss(b, false);
            assertEquals(full.loss, eval.mean().getFloat(), 1e-6 * Math.abs(full.loss));
            float[] rows = eval.rows().toFloatArray(), expected = unchunked(m, b).rows().toFloatArray();
            assertEquals(b.rows(), rows.length);
            for (int i = 0; i < rows.length; i++) assertEquals(expected[i], rows[i], 1e-5 * Math.abs(expected[i]), "row " + i);
        }
    }

    record Result(double loss, List<float[]> grads) {}

    private static Result run(Lora lora, java.util.function.Supplier<Objective.Loss> loss) {
        double value;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector(); NDScope ignored = new NDScope()) {
            NDArray l = loss.get().mean();
            gc.backward(l);
            value = l.getFloat();
        }
        List<float[]> grads = new ArrayList<>();
        for (Param q : lora.params())
            try (NDScope ignored = new NDScope()) {
                grads.add(q.value().getGradient().toFloatArray());
            }
        Optimizer.zeroGrad(lora.params());
        return new Result(value, grads);
    }

    /** The definition: full [B, T-1, V] log-probabilities, gathered at the next tokens. */
    private static Objective.Loss unchunked(Transformer m, Batch b) {
        NDArray h = m.hidden(b.ids(), b.mask(), true).get(new NDIndex(":, :-1"));
        NDArray logp = m.logits(h).logSoftmax(-1);
        NDArray nll = logp.gather(b.ids().get(new NDIndex(":, 1:")).expandDims(2), 2).squeeze(2).neg();
        NDArray w = b.targets().get(new NDIndex(":, 1:")).mul(b.mask().get(new NDIndex(":, 1:")));
        NDArray rows = nll.mul(w).sum(new int[]{1});  // [B]
        return new Objective.Loss(rows.sum(), w.sum(), null, rows);
    }

    /** Three rows of different lengths (padding) with some positions not targets (prompt tokens). */
    private static Batch batch(NDManager m, int vocab) {
        Random r = new Random(4);
        List<Example> ex = new ArrayList<>();
        for (int len : new int[]{21, 13, 17}) {
            long[] ids = new long[len];
            for (int i = 0; i < len; i++) ids[i] = r.nextInt(vocab);
            boolean[] t = new boolean[len];
            Arrays.fill(t, 4, len, true);
            ex.add(new Example(ids, t, -1));
        }
        return Batch.of(ex, m);
    }
}
