package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import dev.ffwd.data.Batch;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;

import java.util.List;

/** What is trained: a loss over a batch, plus any task-specific trainable parameters (a head). */
public interface Objective {

    /** The summed loss and the number of items it sums over (target tokens or sequences), as scalars. */
    Loss loss(Batch batch, boolean training);

    /** The model whose forward pass the loss runs. */
    Transformer model();

    /** Trainable parameters beyond the adapters (a classification head); empty for language modelling. */
    default List<Param> params() {
        return List.of();
    }

    /**
     * {@code classLogits}: the class scores [B, C] the loss was computed from, for an objective that classifies
     * (accuracy is read from them without a second forward pass); null otherwise. {@code rows}: each example's own
     * summed loss [B], which {@code sum} adds up, given when no gradient is recorded so that two weights can be
     * compared example by example (Fast Forward's paired test); null otherwise.
     */
    record Loss(NDArray sum, NDArray count, NDArray classLogits, NDArray rows) {
        public Loss(NDArray sum, NDArray count) {
            this(sum, count, null, null);
        }

        /** The total is the sum of each example's loss {@code rows} [B]. */
        public static Loss ofRows(NDArray rows, NDArray count, NDArray classLogits) {
            return new Loss(rows.sum(), count, classLogits, rows);
        }

        public NDArray mean() {
            return sum.div(count.maximum(1f));
        }
    }
}
