package dev.ffwd;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a main class in a fresh JVM with this one's class path and JVM options, sharing stdout and stderr or writing them
 * to a log. Peak resident memory (VmHWM) is per process, so each measurement that reports it gets its own JVM; the
 * engine's random generator and thread count are per process too, so {@code suite} runs comparisons side by side in
 * child JVMs.
 */
public final class ChildJvm {

    private ChildJvm() {}

    /** Runs {@code mainClass} with {@code args}; an exit status other than 0 becomes an IOException naming {@code what}. */
    public static void run(String what, String mainClass, List<String> args) throws IOException {
        run(what, mainClass, List.of(), args);
    }

    /** As {@link #run(String, String, List)}, with {@code jvmOptions} after this JVM's (a later -Xmx wins). */
    public static void run(String what, String mainClass, List<String> jvmOptions, List<String> args) throws IOException {
        Process p = new ProcessBuilder(command(mainClass, jvmOptions, args)).inheritIO().start();
        try {
            if (p.waitFor() != 0) throw new IOException(what + " failed (exit " + p.exitValue() + ")");
        } catch (InterruptedException e) {
            p.destroy();
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted");
        }
    }

    /** Starts {@code mainClass} with {@code args} without waiting, its stdout and stderr appended to {@code log}. */
    public static Process start(String mainClass, List<String> args, Path log) throws IOException {
        return new ProcessBuilder(command(mainClass, List.of(), args)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static List<String> command(String mainClass, List<String> jvmOptions, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());  // -Xmx, -Dai.djl.offline=true, ...
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }
}
