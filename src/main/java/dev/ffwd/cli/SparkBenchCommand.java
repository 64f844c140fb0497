package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import dev.ffwd.bench.BenchModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

@Command(name = "spark-bench", description = "Data-parallel scaling on a Spark standalone cluster started on this machine "
        + "(one-core executors) against one process, per step size; or, with --comm-only, the communication per step on paper.")
final class SparkBenchCommand implements Runnable {
    @Option(names = "--shape", defaultValue = "pythia_70m", description = "Model shape: pythia_70m, pythia_160m, pythia_1_4b, llama_small (default: ${DEFAULT-VALUE}).") String shape;
    @Option(names = "--seq", defaultValue = "128", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).") int seq;
    @Option(names = "--micro", defaultValue = "8", description = "Sequences per micro-batch, the unit of work of a partition (default: ${DEFAULT-VALUE}).") int micro;
    @Option(names = "--step-sizes", split = ",", defaultValue = "16,32,64", description = "Sequences per optimizer step (default: ${DEFAULT-VALUE}).") List<Integer> stepSizes;
    @Option(names = "--executors", split = ",", defaultValue = "1,2", description = "Cluster sizes, one core per executor (default: ${DEFAULT-VALUE}).") List<Integer> executors;
    @Option(names = "--rank", defaultValue = "64", description = "LoRA rank (default: ${DEFAULT-VALUE}).") int rank;
    @Option(names = "--steps", defaultValue = "5", description = "Timed steps per measurement (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps first (executors load the model) (default: ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--work", paramLabel = "DIR", description = "Where the generated model and cluster logs go (default: a temporary folder).") Path work;
    @Option(names = "--comm-only", description = "Print the communication per step on paper and exit (nothing is run).") boolean commOnly;

    @Override
    public void run() {
        BenchModel bm = Choice.of(BenchModel.class, shape, "--shape");
        try {
            if (commOnly) {
                System.out.print(dev.ffwd.spark.ScalingBench.communication(bm, rank, seq, stepSizes));
                return;
            }
            Path dir = work != null ? Files.createDirectories(work) : Files.createTempDirectory("ffwd-spark-bench");
            dev.ffwd.spark.ScalingBench.run(new dev.ffwd.spark.ScalingBench.Options(
                    new dev.ffwd.spark.ScalingBench.Workload(bm, seq, micro, rank), stepSizes, executors, steps, warmup, dir), System.out);
        } catch (IOException e) {
            throw new FfwdException("spark-bench: " + e.getMessage());
        } catch (NoClassDefFoundError e) {
            throw new FfwdException("spark-bench needs Apache Spark on the class path (" + e.getMessage() + " is missing); run it through ./ffwd");
        }
    }
}
