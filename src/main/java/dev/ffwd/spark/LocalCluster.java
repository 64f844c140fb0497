package dev.ffwd.spark;

import dev.ffwd.FfwdException;
import org.apache.spark.launcher.JavaModuleOptions;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and N workers, each a child JVM started from this process's
 * class path (no Spark distribution needed). Workers launch executor JVMs with the same class path. For tests and
 * scaling measurements on one machine; {@link #close} stops every process it started, executors included.
 */
public final class LocalCluster implements AutoCloseable {

    private static final String MASTER = "org.apache.spark.deploy.master.Master", WORKER = "org.apache.spark.deploy.worker.Worker";
    private static final long START_TIMEOUT_S = 180;  // generous: JVM start on a busy machine

    private final List<Process> processes = new ArrayList<>();  // master first
    private final String url;

    private LocalCluster(String url) {
        this.url = url;
    }

    /**
     * Starts a master and {@code workers} workers of {@code cores} cores and {@code memory} (e.g. "2g") each; logs and
     * executor folders go under {@code dir}.
     */
    public static LocalCluster start(int workers, int cores, String memory, Path dir) throws IOException {
        if (workers < 1 || cores < 1) throw new IllegalArgumentException("a cluster needs at least one worker with one core");
        Path home = Files.createDirectories(dir.resolve("spark-home"));
        Files.createDirectories(home.resolve("jars"));  // executors add SPARK_HOME/jars/*; ours come from spark.executor.extraClassPath
        int port = freePort();
        LocalCluster c = new LocalCluster("spark://127.0.0.1:" + port);
        try {
            c.processes.add(launch(dir, home, "master", MASTER, "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", "0"));
            awaitPort(port, c.processes.get(0), dir.resolve("master.log"));
            for (int i = 0; i < workers; i++) {
                Path work = Files.createDirectories(dir.resolve("worker-" + i));
                c.processes.add(launch(dir, home, "worker-" + i, WORKER, "--host", "127.0.0.1", "--cores", Integer.toString(cores),
                        "--memory", memory, "--work-dir", work.toString(), "--webui-port", "0", c.url));
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public String masterUrl() {
        return url;
    }

    private static Process launch(Path dir, Path home, String name, String main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
        cmd.addAll(List.of(JavaModuleOptions.defaultModuleOptionArray()));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");  // no build directories to infer it from
        pb.environment().putAll(dev.ffwd.EngineEnv.forChildren());
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitPort(int port, Process p, Path log) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_S);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) throw new FfwdException("the Spark master exited at start; see " + log);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                sleep(100);
            }
        }
        throw new FfwdException("the Spark master did not listen on port " + port + " within " + START_TIMEOUT_S + " s; see " + log);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FfwdException("interrupted");
        }
    }

    /** Stops the workers (and the executors they launched), then the master; forcibly after a grace period. */
    @Override
    public void close() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            List<ProcessHandle> children = p.descendants().toList();  // executor JVMs
            p.destroy();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            children.forEach(ProcessHandle::destroyForcibly);
        }
        processes.clear();
    }
}
