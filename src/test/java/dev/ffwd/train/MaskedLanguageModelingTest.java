package dev.ffwd.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.ffwd.FfwdException;
import dev.ffwd.TestData;
import dev.ffwd.TinyModels;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.data.Masking;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Masked language modelling on the generated tiny-bert (d 32, vocabulary 96): the loss by hand, and where gradients go. */
class MaskedLanguageModelingTest {

    static final int V = 96;
    static final long CLS = 2, SEP = 3, MASK = 4;
    static final String E = "embeddings.word_embeddings.weight";

    @TempDir Path tmp;

    /** Rows [CLS] w… [SEP] of different lengths (so the batch is padded), masked by BERT's recipe. */
    static List<Example> masked(int... lengths) {
        Random r = new Random(5);
        List<Example> ex = new ArrayList<>();
        for (int len : lengths) {
            long[] ids = new long[len];
            boolean[] cand = new boolean[len];
            ids[0] = CLS;
            ids[len - 1] = SEP;
            for (int t = 1; t < len - 1; t++) {
                ids[t] = 5 + r.nextInt(V - 5);
                cand[t] = true;
            }
            ex.add(new Example(ids, cand, -1));
        }
        return new Masking(MASK, V).apply(ex, 11);
    }

    /** The mean over masked positions of −log softmax(h·Eᵀ)[original], from the model's hidden states, in doubles. */
    @Test
    void lossEqualsAHandComputationAtTheMaskedPositions() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-bert")); NDScope ignored = new NDScope()) {
            Transformer m = p.model();
            List<Example> ex = masked(30, 12, 21, 40);
            Batch b = Batch.of(ex, m.manager());
            for (int chunk : new int[]{1, 3, 1000}) {
                Objective.Loss l = new MaskedLanguageModeling(m, chunk).loss(b, false);

                int t = b.length(), d = m.config.hidden();
                float[] h = m.hidden(b.ids(), b.mask(), false).toFloatArray();  // [B, T, d]
                float[] e = m.parameters().get(E).toFloatArray();               // [V, d]
                double sum = 0;
                double[] rows = new double[ex.size()];
                int count = 0;
                for (int i = 0; i < ex.size(); i++) {
                    Example x = ex.get(i);
                    for (int pos = 0; pos < x.length(); pos++) {
                        if (!x.target()[pos]) continue;
                        double[] logits = new double[V];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int v = 0; v < V; v++) {
                            double s = 0;
                            for (int k = 0; k < d; k++) s += (double) h[(i * t + pos) * d + k] * e[v * d + k];
                            logits[v] = s;
                            max = Math.max(max, s);
                        }
                        double z = 0;
                        for (double s : logits) z += Math.exp(s - max);
                        double nll = max + Math.log(z) - logits[(int) x.tokenLabels()[pos]];
                        sum += nll;
                        rows[i] += nll;
                        count++;
                    }
                }
                assertEquals(ex.stream().mapToInt(Example::targetCount).sum(), count);
                assertEquals(count, l.count().getFloat(), "count = masked positions, chunk " + chunk);
                assertEquals(sum / count, l.mean().getFloat(), 1e-5, "chunk " + chunk);
                float[] got = l.rows().toFloatArray();  // each example's own sum, for Fast Forward's paired test
                for (int i = 0; i < rows.length; i++) assertEquals(rows[i], got[i], 1e-4, "example " + i + ", chunk " + chunk);
            }
        }
    }

    /** Gradients reach every LoRA tensor (and equal those of the unchunked definition); the tied embeddings stay frozen. */
    @Test
    void gradientsFlowToTheAdaptersOnlyAndTheEmbeddingsStayUnchanged() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-bert"))) {
            Transformer m = p.model();
            Lora lora = Lora.attach(m, new LoraConfig(4, 8, 0, List.of("query", "value", "output.dense"), false), 1);
            Random r = new Random(2);
            for (Param q : lora.params()) {  // B non-zero, so that A's gradient is informative too
                float[] v = new float[(int) q.size()];
                for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.3);
                q.value().set(v);
            }
            Map<String, float[]> frozen = new LinkedHashMap<>();
            m.parameters().forEach((k, a) -> frozen.put(k, a.toFloatArray()));
            Batch b = Batch.of(masked(30, 12, 21, 40), m.manager());
            assertFalse(m.parameters().get(E).hasGradient(), "the tied head is not trainable");

            List<float[]> reference = gradients(lora, () -> unchunked(m, b));
            List<float[]> grads = gradients(lora, () -> new MaskedLanguageModeling(m, 3).loss(b, false));
            for (int i = 0; i < grads.size(); i++) {
                float[] g = grads.get(i), ref = reference.get(i);
                double scale = 0;
                for (float x : ref) scale = Math.max(scale, Math.abs(x));
                assertTrue(scale > 0, lora.params().get(i).name() + " has no gradient");
                for (int j = 0; j < g.length; j++) assertEquals(ref[j], g[j], 1e-5 * scale, lora.params().get(i).name() + "[" + j + "]");
            }

            double before = loss(m, b);
            for (int i = 0; i < grads.size(); i++) {  // one plain gradient step on the adapters
                float[] v = lora.params().get(i).toFloats(), g = grads.get(i);
                for (int j = 0; j < v.length; j++) v[j] -= 0.05f * g[j];
                lora.params().get(i).value().set(v);
            }
            assertTrue(loss(m, b) < before, "a step along the gradient lowers the loss");
            m.parameters().forEach((k, a) -> assertArrayEquals(frozen.get(k), a.toFloatArray(), k + " changed"));
            assertFalse(m.parameters().get(E).hasGradient());
        }
    }

    /** Classes → a classifier; no classes → masked LM on an encoder (causal LM on a decoder); a causal LM has no MLM. */
    @Test
    void objectiveSelection() {
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-bert"))) {
            assertInstanceOf(MaskedLanguageModeling.class, Trainable.objective(p.model(), 0, 1, 7));
            assertEquals(7, ((MaskedLanguageModeling) Trainable.objective(p.model(), 0, 1, 7)).lossChunk());
            assertInstanceOf(Classification.class, Trainable.objective(p.model(), 3, 1, 7));
        }
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-llama"))) {
            assertInstanceOf(LanguageModeling.class, Trainable.objective(p.model(), 0, 1, 7));
            assertThrows(IllegalArgumentException.class, () -> new MaskedLanguageModeling(p.model()));
        }
    }

    /** An encoder refuses instruction data, and text with a tokenizer that has no mask token (tiny-bert's), saying why. */
    @Test
    void encoderRefusalsSayWhy() throws Exception {
        Path data = TestData.stories(tmp, 40, 1);
        FineTune.Options o = FineTune.Options.builder(TinyModels.dir("tiny-bert").toString(), data,
                new LoraConfig(4, 8, 0, List.of("query"), false)).maxLength(32).build();
        FfwdException e = assertThrows(FfwdException.class, () -> FineTune.prepare(o));
        assertTrue(e.getMessage().contains("no mask token"), e.getMessage());
        java.nio.file.Files.writeString(tmp.resolve("i.jsonl"), "{\"instruction\": \"say\", \"output\": \"the dog\"}\n".repeat(20));
        FineTune.Options inst = FineTune.Options.builder(o.model(), tmp.resolve("i.jsonl"), o.lora())
                .format(dev.ffwd.data.Format.INSTRUCTION).maxLength(32).build();
        e = assertThrows(FfwdException.class, () -> FineTune.prepare(inst));
        assertTrue(e.getMessage().contains("--format text"), e.getMessage());
    }

    private static double loss(Transformer m, Batch b) {
        try (NDScope ignored = new NDScope()) {
            return new MaskedLanguageModeling(m, 1000).loss(b, false).mean().getFloat();
        }
    }

    /** The definition with full autograd: log-softmax of h·Eᵀ at the masked positions. */
    private static Objective.Loss unchunked(Transformer m, Batch b) {
        long n = (long) b.rows() * b.length();
        NDArray h = m.hidden(b.ids(), b.mask(), false);
        NDArray at = b.targets().reshape(n).gt(0f).nonzero().squeeze(1);
        NDArray hm = h.reshape(n, h.getShape().get(2)).get(at);
        NDArray logp = hm.matMul(m.parameters().get(E).transpose()).logSoftmax(-1);
        NDArray nll = logp.gather(b.tokenLabels().reshape(n).get(at).expandDims(1), 1).neg();
        return new Objective.Loss(nll.sum(), hm.getManager().create((float) at.getShape().get(0)));
    }

    private static List<float[]> gradients(Lora lora, java.util.function.Supplier<Objective.Loss> loss) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector(); NDScope ignored = new NDScope()) {
            gc.backward(loss.get().mean());
        }
        List<float[]> grads = new ArrayList<>();
        for (Param q : lora.params())
            try (NDScope ignored = new NDScope()) {
                NDArray g = q.value().getGradient();
                grads.add(g.toFloatArray());
                g.subi(g);  // PyTorch accumulates: clear for the next backward
            }
        return grads;
    }
}
