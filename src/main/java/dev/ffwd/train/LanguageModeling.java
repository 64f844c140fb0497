package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.ffwd.data.Batch;
import dev.ffwd.model.ChunkedCrossEntropy;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Transformer;

/**
 * Causal language modelling: mean negative log-likelihood of each target token given the tokens before it.
 * {@code lossChunk}: positions whose logits are formed at once (see {@link ChunkedCrossEntropy}).
 */
public record LanguageModeling(Transformer model, int lossChunk) implements Objective {

    /** With the default chunk size, {@link TrainConfig.Memory#LOSS_CHUNK}. */
    public LanguageModeling(Transformer model) {
        this(model, TrainConfig.Memory.LOSS_CHUNK);
    }

    @Override
    public Loss loss(Batch b, boolean training) {
        NDArray h = model.hidden(b.ids(), b.mask(), training).get(new NDIndex(":, :-1"));  // [B, T-1, d]
        long n = h.getShape().get(0) * h.getShape().get(1);
        NDArray next = b.ids().get(new NDIndex(":, 1:")).reshape(n);                       // [N]
        NDArray w = b.targets().get(new NDIndex(":, 1:")).mul(b.mask().get(new NDIndex(":, 1:"))).reshape(n);
        NDArray hn = h.reshape(n, h.getShape().get(2));                                         // [N, d]
        if (ChunkedCrossEntropy.recording()) return new Loss(ChunkedCrossEntropy.sum(model, hn, next, w, lossChunk), w.sum());
        try (Fp32 head = model.head()) {
            NDArray rows = ChunkedCrossEntropy.perPosition(head, hn, next, w, lossChunk).reshape(b.rows(), b.length() - 1).sum(new int[]{1});  // [B]
            return Loss.ofRows(rows, w.sum(), null);
        }
    }
}
