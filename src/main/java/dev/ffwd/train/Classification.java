package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDScope;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Arch;
import dev.ffwd.model.Ops;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;

import java.util.List;
import java.util.Random;

/**
 * Sequence classification: a linear head on the pooled representation (mean for encoders, last token for
 * causal LMs), trained with cross-entropy. The family names the head and says whether it has a bias, as HF does.
 */
public final class Classification implements Objective {

    private final Transformer model;
    private final NDArray weight, bias;  // [C, d], [C] (only where the family's head has one)
    private final List<Param> params;

    @Override
    public Transformer model() {
        return model;
    }

    public Classification(Transformer model, int classes, long seed) {
        this.model = model;
        int d = model.config.hidden();
        Random rng = new Random(seed ^ 0x5DEECE66DL);
        float[] w = new float[classes * d];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.02);  // HF initializer_range
        weight = model.manager().create(w, new Shape(classes, d));
        weight.setRequiresGradient(true);
        Arch.Head spec = model.config.arch().classifier;
        String head = Lora.PEFT_PREFIX + spec.name();  // the HF module name of the head, under PEFT's prefix
        if (spec.bias()) {
            bias = model.manager().zeros(new Shape(classes));
            bias.setRequiresGradient(true);
            params = List.of(new Param(head + ".weight", weight), new Param(head + ".bias", bias));
        } else {
            bias = null;
            params = List.of(new Param(head + ".weight", weight));
        }
    }

    @Override
    public Loss loss(Batch b, boolean training) {
        NDArray logits = logits(b, training);                                                    // [B, C]
        NDArray nll = logits.logSoftmax(-1).gather(b.labels().expandDims(1), 1).squeeze(1).neg(); // [B]
        return Loss.ofRows(nll, b.labels().getManager().create((float) b.rows()), logits);
    }

    NDArray logits(Batch b, boolean training) {
        NDArray pooled = model.pool(model.hidden(b.ids(), b.mask(), training), b.mask());  // [B, d]
        return Ops.linear(pooled, weight, bias);
    }

    /** Log-probabilities [n][C] of each example's classes, without dropout or gradients, in batches of {@code batchSize}. */
    public float[][] logProbabilities(List<Example> examples, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        float[][] out = new float[examples.size()][];
        for (int i = 0; i < examples.size(); i += batchSize) {
            List<Example> part = examples.subList(i, Math.min(examples.size(), i + batchSize));
            try (NDScope ignored = new NDScope()) {
                NDArray lp = logits(Batch.of(part, model.manager()), false).logSoftmax(-1);
                int c = (int) lp.getShape().get(1);
                float[] flat = lp.toFloatArray();
                for (int j = 0; j < part.size(); j++) out[i + j] = java.util.Arrays.copyOfRange(flat, j * c, (j + 1) * c);
            }
        }
        return out;
    }

    /** Loss (mean cross-entropy), accuracy and macro-F1 on labelled examples. */
    public Metrics.Classification evaluate(List<Example> examples, int batchSize) {
        float[][] lp = logProbabilities(examples, batchSize);
        int[] gold = Metrics.gold(examples), predicted = new int[lp.length];
        double nll = 0;
        for (int i = 0; i < lp.length; i++) {
            if (gold[i] >= lp[i].length) throw new IllegalArgumentException("example " + i + " has no valid label");
            predicted[i] = argmax(lp[i]);
            nll -= lp[i][gold[i]];
        }
        return Metrics.classification(nll / lp.length, gold, predicted, (int) weight.getShape().get(0));
    }

    /** The index of the largest value (the first one on ties). */
    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    @Override
    public List<Param> params() {
        return params;
    }
}
