package dev.ffwd.cli;

import dev.ffwd.TinyModels;
import dev.ffwd.TestData;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Training in a child JVM is killed with SIGKILL several times (checkpoints are written every step, so kills land
 * during writes too), resumed each time, and must end with the same adapter, bit for bit, as a run never killed.
 */
class CrashSafetyTest {

    @TempDir Path tmp;

    List<String> trainArgs(Path data, Path out) {
        return List.of("train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(),
                "--out", out.toString(), "--max-steps", "150", "--batch-size", "8", "--grad-accum", "2", "--lora-r", "8",
                "--lr", "1e-3", "--max-length", "32", "--checkpoint-every", "1", "--eval-every", "25", "--ff",
                "--test-fraction", "0.3", "--ff-val-size", "8", "--threads", "1");
    }

    static Process child(List<String> args, Path log) throws IOException {
        return child(List.of(), args, log);
    }

    /** The CLI in a child JVM with extra JVM options {@code jvm}, its output to {@code log}. */
    static Process child(List<String> jvm, List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true"));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.ffwd.cli.Main"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OPT_OUT_TRACKING", "true");
        return pb.start();
    }

    static void await(Process p, Path log) throws Exception {
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child timed out");
        assertEquals(0, p.exitValue(), () -> "child failed:\n" + readQuietly(log));
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void killedAndResumedRunsEqualAnUninterruptedRun() throws Exception {
        Path data = TestData.stories(tmp, 200, 3);
        Path clean = tmp.resolve("clean"), crashed = tmp.resolve("crashed");
        await(child(trainArgs(data, clean), tmp.resolve("clean.log")), tmp.resolve("clean.log"));

        Random r = new Random(1);
        Path ckpt = crashed.resolve("checkpoint.safetensors");
        int kills = 0;
        for (int attempt = 0; attempt < 4; attempt++) {
            List<String> args = new ArrayList<>(trainArgs(data, crashed));
            if (attempt > 0) args.add("--resume");
            Process p = child(args, tmp.resolve("crash" + attempt + ".log"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(ckpt) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
            Thread.sleep(20 + r.nextInt(200));
            if (!p.isAlive()) break;
            p.destroyForcibly();  // SIGKILL
            p.waitFor();
            kills++;
            try (TensorStore s = SafetensorsReader.open(ckpt)) {  // never half-written
                assertTrue(s.metadata().containsKey("ffwd.state"));
            }
        }
        assertTrue(kills >= 2, "the child finished before it could be killed twice");
        List<String> args = new ArrayList<>(trainArgs(data, crashed));
        args.add("--resume");
        await(child(args, tmp.resolve("final.log")), tmp.resolve("final.log"));
        assertFalse(readQuietly(tmp.resolve("final.log")).contains("Warning:"),
                "a resumed run restores tensors without libtorch's deprecation warning:\n" + readQuietly(tmp.resolve("final.log")));

        try (TensorStore a = SafetensorsReader.open(clean.resolve("adapter/adapter_model.safetensors"));
             TensorStore b = SafetensorsReader.open(crashed.resolve("adapter/adapter_model.safetensors"))) {
            assertEquals(a.names(), b.names());
            for (String n : a.names()) assertArrayEquals(a.get(n).toFloats(), b.get(n).toFloats(), n);
        }
        File[] stale = crashed.toFile().listFiles((d, n) -> n.endsWith(".tmp"));
        assertEquals(0, stale == null ? 0 : stale.length, "stale temp files were not cleaned on resume");
    }

    @Test
    void runsWithoutAnyNetwork() throws Exception {
        // In a network namespace with no interfaces (where unshare is permitted), or with an unroutable proxy otherwise.
        boolean unshare = new ProcessBuilder("unshare", "-n", "true").start().waitFor() == 0;
        List<String> cmd = new ArrayList<>();
        if (unshare) cmd.addAll(List.of("unshare", "-n"));
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true",
                "-Dhttp.proxyHost=10.255.255.1", "-Dhttps.proxyHost=10.255.255.1", "-cp", System.getProperty("java.class.path"),
                "dev.ffwd.cli.Main", "score", "--model", TinyModels.dir("tiny-gpt-neox").toString(), "--text", "the cat saw the dog ."));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().put("http_proxy", "http://10.255.255.1:9");
        pb.environment().put("https_proxy", "http://10.255.255.1:9");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("mean NLL"), out);
        System.err.println("no-network check ran " + (unshare ? "in an empty network namespace" : "with an unroutable proxy"));
    }
}
