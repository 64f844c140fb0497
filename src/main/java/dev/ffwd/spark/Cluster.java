package dev.ffwd.spark;

import dev.ffwd.train.Gradients;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.Map;

/**
 * A connection to a Spark cluster for data-parallel training: {@code local[N]}, {@code spark://host:port}, or whatever
 * {@code spark-submit} configured (pass {@link #SUBMIT} to keep its {@code spark.master}). Executors of a standalone
 * cluster get the driver's class path (a path every worker must be able to read) unless {@code spark.jars} or
 * {@code spark.executor.extraClassPath} is set.
 */
public final class Cluster implements AutoCloseable {

    /** The master value that keeps the {@code spark.master} that spark-submit set. */
    public static final String SUBMIT = "submit";

    private final JavaSparkContext sc;
    private final boolean local;

    private Cluster(JavaSparkContext sc) {
        this.sc = sc;
        this.local = sc.isLocal();
    }

    /** Starts a Spark application on {@code master} with extra settings {@code conf} (e.g. spark.executor.memory). */
    public static Cluster connect(String master, Map<String, String> conf) {
        SparkConf c = new SparkConf().setAppName("ffwd");
        if (!master.equals(SUBMIT)) c.setMaster(master);
        conf.forEach(c::set);
        c.setIfMissing("spark.ui.enabled", "false");
        // executors' libtorch reads these at start-up, as the driver's did (a setting given in conf wins)
        dev.ffwd.EngineEnv.forChildren().forEach((k, v) -> c.setIfMissing("spark.executorEnv." + k, v));
        String m = c.get("spark.master", "");
        if (!m.startsWith("local") && !c.contains("spark.jars") && !c.contains("spark.executor.extraClassPath"))
            c.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        return new Cluster(new JavaSparkContext(c));
    }

    /** Step gradients on this cluster, for {@link dev.ffwd.train.FineTune#distribute}. */
    public Gradients.Factory gradients() {
        return (spec, cfg, params) -> new SparkGradients(sc, spec, cfg, params);
    }

    /** Waits until {@code n} executors have registered (a standalone cluster starts them after the application). */
    public void awaitExecutors(int n, long timeoutSeconds) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (executors() < n) {
            if (System.nanoTime() > deadline)
                throw new dev.ffwd.FfwdException(sc.master() + ": " + executors() + " of " + n + " executors registered within " + timeoutSeconds + " s");
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new dev.ffwd.FfwdException("interrupted");
            }
        }
    }

    /** Executors registered now (the driver not counted). */
    public int executors() {
        return sc.sc().getExecutorMemoryStatus().size() - (local ? 0 : 1);
    }

    public JavaSparkContext context() {
        return sc;
    }

    /** Test hook: the first attempt of partition 0 of every later step fails mid-step ("throw" or "exit"); null: none. */
    public void injectFault(String kind) {
        sc.setLocalProperty(ExecutorSide.FAULT, kind);
    }

    @Override
    public void close() {
        sc.stop();
        if (local) ExecutorSide.clear();  // the executors' replicas lived in this JVM
    }
}
