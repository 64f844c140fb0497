package dev.ffwd.cli;

import dev.ffwd.spark.Cluster;
import dev.ffwd.train.FineTune;

import java.util.Map;

/** The one CLI class that uses Spark: loaded only for --spark-master (see {@link TrainOptions#distribute}). */
final class SparkLink {

    private SparkLink() {}

    static dev.ffwd.report.Experiment.Attachment attach(FineTune ft, String master, Map<String, String> conf) {
        Cluster c = Cluster.connect(master, conf);
        ft.distribute(c.gradients());
        System.err.printf("spark: master %s, %d task slots; gradients on the cluster, optimizer, Fast Forward and evaluation here%n",
                c.context().master(), c.context().defaultParallelism());
        return c::close;
    }
}
