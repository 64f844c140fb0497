package dev.ffwd.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.model.Scalars;
import dev.ffwd.optim.Param;

import java.util.List;

/**
 * Where one optimizer step's gradient is computed: in this process ({@link #local}), or spread over a cluster
 * (dev.ffwd.spark.SparkGradients). Either way the unit of work is the micro-batch, computed by {@link #backward}:
 * its loss is the micro-batch mean divided by the number of micro-batches, and its dropout masks are seeded by
 * (seed, step, micro-batch index), so a micro-batch's gradient is the same whichever process computes it, and the
 * step's gradient (their sum) differs between one process and a cluster only by the order of float additions.
 */
public interface Gradients {

    /**
     * The step's summed gradient, one array per trainable tensor in the trainer's order (created in the caller's
     * NDScope), and the step's loss: the sum of the micro-batches' contributions, i.e. the mean of their mean losses.
     */
    record Sum(double loss, List<NDArray> grads) {}

    /** {@code micros}: the step's micro-batches in order (the data order is the trainer's, from the global example index). */
    Sum sum(long step, List<List<Example>> micros);

    /** Builds the gradient source of a run from its trainable setup; a cluster source rebuilds the same setup remotely. */
    interface Factory {
        Gradients create(Replica.Spec spec, TrainConfig cfg, List<Param> params);
    }

    /**
     * Backpropagates micro-batch {@code micro} (0-based, of optimizer step {@code step}, 0-based) into the gradients of
     * the trainable tensors, inside the caller's active GradientCollector; returns its loss contribution.
     */
    static double backward(Objective objective, TrainConfig cfg, long step, int micro, List<Example> ex, NDManager manager,
                           GradientCollector gc) {
        try (NDScope ignored = new NDScope()) {
            JniUtils.setSeed(cfg.seed() * 1_000_003L + step * 1_009L + micro);  // dropout masks: (seed, step, micro-batch)
            Batch b = Batch.of(ex, manager);
            return objective.model().backward(() -> Scalars.scale(objective.loss(b, true).mean(), 1.0 / cfg.gradAccum()), gc,
                    cfg.memory().checkpointActivations());
        }
    }

    /** This process: the micro-batches one after the other, their gradients accumulated by PyTorch in the parameters. */
    static Gradients local(Objective objective, List<Param> params, TrainConfig cfg, NDManager manager) {
        return (step, micros) -> {
            double loss = 0;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                for (int i = 0; i < micros.size(); i++) loss += backward(objective, cfg, step, i, micros.get(i), manager, gc);
            }
            return new Sum(loss, params.stream().map(p -> p.value().getGradient()).toList());
        };
    }
}
