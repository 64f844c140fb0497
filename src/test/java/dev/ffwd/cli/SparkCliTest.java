package dev.ffwd.cli;

import dev.ffwd.TinyModels;
import dev.ffwd.TestData;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** {@code train --spark-master}: the same adapter as without it, and a killed driver resumes from its checkpoint. */
class SparkCliTest {

    @TempDir Path tmp;

    static List<String> args(Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", TinyModels.dir("tiny-llama").toString(), "--data", data.toString(),
                "--out", out.toString(), "--max-steps", "8", "--batch-size", "4", "--grad-accum", "4", "--lora-r", "8", "--lr", "1e-3",
                "--max-length", "32", "--eval-every", "4", "--ff", "--ff-interval", "3", "--ff-val-size", "8", "--test-fraction", "0.3",
                "--checkpoint-every", "1"));
        a.addAll(List.of(more));
        return a;
    }

    static final String[] SPARK = {"--spark-master", "local[2]", "--spark-conf", "spark.driver.host=127.0.0.1"};

    @Test
    void sparkMasterLocalTwoGivesTheAdapterOfOneProcess() throws Exception {
        Path data = TestData.stories(tmp, 120, 8);
        Cli.Result plain = Cli.run(args(data, tmp.resolve("plain")).toArray(String[]::new));
        assertEquals(0, plain.code(), plain.err());
        List<String> a = args(data, tmp.resolve("spark"), SPARK);
        Cli.Result spark = Cli.run(a.toArray(String[]::new));
        assertEquals(0, spark.code(), spark.err());
        assertTrue(spark.err().contains("spark: master local[2], 2 task slots"), spark.err());
        assertAdaptersClose(tmp.resolve("plain"), tmp.resolve("spark"));
    }

    @Test
    void aKilledSparkDriverResumesFromTheLastCheckpoint() throws Exception {
        Path data = TestData.stories(tmp, 120, 9);
        Cli.Result plain = Cli.run(args(data, tmp.resolve("plain")).toArray(String[]::new));
        assertEquals(0, plain.code(), plain.err());

        Path out = tmp.resolve("killed"), log = tmp.resolve("killed.log");
        Process p = CrashSafetyTest.child(List.of(JavaModuleOptions.defaultModuleOptionArray()), args(data, out, SPARK), log);
        Path ckpt = out.resolve("checkpoint.safetensors");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(ckpt) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(10);
        Thread.sleep(300);  // into a later step
        assertTrue(p.isAlive(), () -> "the driver finished or failed before it could be killed:\n" + CrashSafetyTest.readQuietly(log));
        p.destroyForcibly();  // SIGKILL: the driver and its local executors
        p.waitFor();

        List<String> resume = args(data, out, SPARK);
        resume.add("--resume");
        Cli.Result r = Cli.run(resume.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Matcher m = Pattern.compile("resumed at step (\\d+)").matcher(r.err());
        assertTrue(m.find(), r.err());
        long at = Long.parseLong(m.group(1));
        assertTrue(at >= 1 && at < 8, "resumed at step " + at);
        assertAdaptersClose(tmp.resolve("plain"), out);
    }

    static void assertAdaptersClose(Path a, Path b) throws Exception {
        try (TensorStore x = SafetensorsReader.open(a.resolve("adapter-last/adapter_model.safetensors"));
             TensorStore y = SafetensorsReader.open(b.resolve("adapter-last/adapter_model.safetensors"))) {
            assertEquals(x.names(), y.names());
            double max = 0;
            for (String n : x.names()) {
                float[] u = x.get(n).toFloats(), v = y.get(n).toFloats();
                for (int i = 0; i < u.length; i++) max = Math.max(max, Math.abs(u[i] - v[i]));
            }
            System.err.printf("adapter %s vs %s: max |Δ| = %.3g%n", a.getFileName(), b.getFileName(), max);
            assertTrue(max <= 1e-4, "max |Δ| " + max);
        }
    }
}
