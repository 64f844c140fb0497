package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.ffwd.data.Batch;
import dev.ffwd.model.Transformer;

/** Causal language modelling: mean negative log-likelihood of each target token given the tokens before it. */
public record LanguageModeling(Transformer model) implements Objective {

    @Override
    public Loss loss(Batch b, boolean training) {
        NDArray h = model.hidden(b.ids(), b.mask(), training).get(new NDIndex(":, :-1"));  // [B, T-1, d]
        NDArray logp = model.logits(h).logSoftmax(-1);                                    // [B, T-1, V]
        NDArray next = b.ids().get(new NDIndex(":, 1:"));                                  // [B, T-1]
        NDArray nll = logp.gather(next.expandDims(2), 2).squeeze(2).neg();                 // [B, T-1]
        NDArray w = b.targets().get(new NDIndex(":, 1:")).mul(b.mask().get(new NDIndex(":, 1:")));
        return new Loss(nll.mul(w).sum(), w.sum());
    }
}
