package dev.ffwd;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Processes ffwd starts run as this one does; reference engines run with glibc's own malloc settings. */
class EngineEnvTest {

    @Test
    void childrenGetThisProcesssSettingsAndReferencesGlibcsOwn() {
        Map<String, String> children = EngineEnv.forChildren();
        assertEquals("1", children.get(EngineEnv.THP), "Surefire sets it as the launcher does (pom.xml)");
        assertEquals("true", children.get("OPT_OUT_TRACKING"));
        assertEquals(EngineEnv.DEFAULT_ARENAS, children.get(EngineEnv.ARENAS), "Surefire sets it as the launcher does (pom.xml)");
        assertEquals(1L, EngineEnv.arenas());
        assertEquals(System.getenv(EngineEnv.MMAP_THRESHOLD), children.get(EngineEnv.MMAP_THRESHOLD), "the user's value, or none");
        Map<String, String> reference = new HashMap<>(children);
        reference.put(EngineEnv.MMAP_THRESHOLD, "2097152");  // as a user who set it would have it
        EngineEnv.forReference(reference);
        assertFalse(reference.containsKey(EngineEnv.MMAP_THRESHOLD), "PyTorch and llama.cpp run as their users run them");
        assertFalse(reference.containsKey(EngineEnv.ARENAS), "glibc's own arenas for the reference");
        assertEquals("1", reference.get(EngineEnv.THP), "the rest of the environment stays");
    }

    @Test
    void referencesLoseTheLaunchersJemallocButNotAnotherPreload() {
        Map<String, String> env = new HashMap<>(Map.of("LD_PRELOAD", JEMALLOC.toString(), EngineEnv.JEMALLOC_CONF, EngineEnv.DEFAULT_JEMALLOC_CONF));
        EngineEnv.forReference(env);
        assertEquals(Map.of(), env);
        env.put("LD_PRELOAD", "/opt/profiler/libtrace.so");
        EngineEnv.forReference(env);
        assertEquals("/opt/profiler/libtrace.so", env.get("LD_PRELOAD"), "a preload of the user's own stays");
    }

    /** Where Debian's libjemalloc2 puts the library the launcher preloads (.ci/run installs it). */
    private static final Path JEMALLOC = Path.of("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");

    @Test
    void aProcessWithJemallocPreloadedSaysSo() throws Exception {
        String preload = System.getenv().getOrDefault("LD_PRELOAD", "");
        if (preload.contains("libjemalloc")) assertTrue(EngineEnv.allocator().startsWith("jemalloc"), "a test JVM started with jemalloc preloaded");
        else assertEquals("glibc", EngineEnv.allocator(), "Surefire's JVM runs on glibc's malloc");
        Assumptions.assumeTrue(Files.isRegularFile(JEMALLOC), "NOTICE: " + JEMALLOC + " is not installed (Debian: libjemalloc2); skipped");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Allocator.class.getName()).redirectErrorStream(true);
        pb.environment().put("LD_PRELOAD", JEMALLOC.toString());
        pb.environment().put(EngineEnv.JEMALLOC_CONF, EngineEnv.DEFAULT_JEMALLOC_CONF);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), out);
        assertEquals("jemalloc (" + EngineEnv.DEFAULT_JEMALLOC_CONF + ")", out);
    }

    /** Prints {@link EngineEnv#allocator()} (the child of the test above). */
    public static final class Allocator {
        public static void main(String[] args) {
            System.out.println(EngineEnv.allocator());
        }
    }
}
