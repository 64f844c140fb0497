package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.ffwd.data.Batch;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Arch;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;

import java.util.List;
import java.util.Random;

/**
 * Sequence classification: a linear head on the pooled representation (mean for encoders, last token for
 * causal LMs), trained with cross-entropy. Head names follow HF: "classifier" for BERT, "score" otherwise.
 */
public final class Classification implements Objective {

    private final Transformer model;
    private final NDArray weight, bias;  // [C, d], [C] (BERT only)
    private final List<Param> params;

    public Classification(Transformer model, int classes, long seed) {
        this.model = model;
        int d = model.config.hidden();
        Random rng = new Random(seed ^ 0x5DEECE66DL);
        float[] w = new float[classes * d];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.02);  // HF initializer_range
        weight = model.manager().create(w, new Shape(classes, d));
        weight.setRequiresGradient(true);
        String head = headName(model);
        if (model.config.arch() == Arch.BERT) {
            bias = model.manager().zeros(new Shape(classes));
            bias.setRequiresGradient(true);
            params = List.of(new Param(head + ".weight", weight), new Param(head + ".bias", bias));
        } else {
            bias = null;
            params = List.of(new Param(head + ".weight", weight));
        }
    }

    /** The HF module name of the head, under PEFT's prefix. */
    private static String headName(Transformer model) {
        return Lora.PEFT_PREFIX + (model.config.arch() == Arch.BERT ? "classifier" : "score");
    }

    @Override
    public Loss loss(Batch b, boolean training) {
        NDArray logits = logits(b, training);                                                    // [B, C]
        NDArray nll = logits.logSoftmax(-1).gather(b.labels().expandDims(1), 1).squeeze(1).neg(); // [B]
        return new Loss(nll.sum(), b.labels().getManager().create((float) b.rows()));
    }

    private NDArray logits(Batch b, boolean training) {
        NDArray pooled = model.pool(model.hidden(b.ids(), b.mask(), training), b.mask());  // [B, d]
        return pooled.getNDArrayInternal().linear(pooled, weight, bias).singletonOrThrow();
    }

    @Override
    public List<Param> params() {
        return params;
    }
}
