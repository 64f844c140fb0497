package dev.ffwd.spark;

import ai.djl.ndarray.NDArray;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Example;
import dev.ffwd.optim.Param;
import dev.ffwd.train.Gradients;
import dev.ffwd.train.Replica;
import dev.ffwd.train.TrainConfig;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * A step's gradient computed on a Spark cluster. Per step: one broadcast of the trainable tensors (4 bytes per value),
 * one job whose partitions each take a contiguous share of the step's micro-batches, and a {@code treeAggregate} that
 * sums the partitions' gradients (4 bytes per value per partition) and losses. Which partition computes a micro-batch
 * does not change its gradient (see {@link Gradients#backward}), so the result does not depend on the number of
 * executors; only the order of the float additions does.
 */
final class SparkGradients implements Gradients {

    private final JavaSparkContext sc;
    private final Replica.Spec spec;
    private final TrainConfig cfg;
    private final List<Param> params;
    private final List<String> names;
    private double lastComputeSeconds;  // the slowest partition's compute time in the latest step

    SparkGradients(JavaSparkContext sc, Replica.Spec spec, TrainConfig cfg, List<Param> params) {
        this.sc = sc;
        this.spec = spec;
        this.cfg = cfg;
        this.params = params;
        this.names = params.stream().map(Param::name).toList();
    }

    @Override
    public Sum sum(long step, List<List<Example>> micros) {
        Broadcast<float[][]> values = sc.broadcast(params.stream().map(Param::toFloats).toArray(float[][]::new));
        try {
            List<ExecutorSide.Task> tasks = new ArrayList<>();
            for (int i = 0; i < micros.size(); i++) tasks.add(new ExecutorSide.Task(i, micros.get(i)));
            int slices = Math.min(tasks.size(), sc.defaultParallelism());
            Replica.Spec spec = this.spec;  // locals: the closure must not capture this
            TrainConfig cfg = this.cfg;
            List<String> names = this.names;
            Replica.Partial p = sc.parallelize(tasks, slices)
                    .mapPartitions(it -> List.of(ExecutorSide.gradient(spec, cfg, names, step, values.value(), it)).iterator())
                    .treeAggregate(Replica.Partial.NONE, Replica.Partial::plus, Replica.Partial::plus);
            if (p.micros() != micros.size())
                throw new FfwdException("step " + (step + 1) + ": the cluster returned " + p.micros() + " of " + micros.size() + " micro-batches");
            lastComputeSeconds = p.seconds();
            List<NDArray> grads = new ArrayList<>(params.size());
            for (int i = 0; i < params.size(); i++) {
                NDArray like = params.get(i).value();
                grads.add(like.getManager().create(p.grads()[i], like.getShape()));  // in the trainer's NDScope
            }
            return new Sum(p.loss(), grads);
        } finally {
            values.destroy();
        }
    }

    /** Compute seconds of the slowest partition in the latest step; the step's other time is Spark's overhead. */
    double lastComputeSeconds() {
        return lastComputeSeconds;
    }
}
