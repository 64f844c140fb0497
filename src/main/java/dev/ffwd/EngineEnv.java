package dev.ffwd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The environment libtorch and DJL read at start-up, in one place: the {@code ffwd} launcher exports the same values,
 * and every process ffwd starts itself (Spark workers and executors) gets them.
 */
public final class EngineEnv {

    /**
     * The variable libtorch's CPU allocator reads (once) to align tensors of 2 MB or more to 2 MB and ask the kernel for
     * transparent huge pages ({@code madvise}). Without it, each large temporary (a loss chunk's [positions, vocab]
     * logits, 51 MB on Pythia) is mapped afresh and faulted in 4 KB at a time; on the project's VMs that faulting took
     * about a third of the Pythia-70m training step (docs/performance.md, "Huge pages").
     */
    public static final String THP = "THP_MEM_ALLOC_ENABLE";

    /**
     * The variable glibc's malloc reads (once) for the size from which a block gets its own mapping, returned to the kernel
     * when freed. glibc's own threshold rises to the largest block freed so far (up to 32 MB), so activations come from
     * a heap that keeps what each step freed. Set to 2097152, the peak resident memory of the Pythia-70m training step
     * falls by about a third and the step takes about twice as long (each large block is faulted in afresh):
     * docs/performance.md, "Peak memory". ffwd leaves it to the user; a process ffwd starts inherits the user's value.
     */
    public static final String MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_";

    /**
     * The variable glibc's malloc reads (once) for how many arenas (separate heaps) it may make, by default up to 8 per
     * core. libtorch's intra-op threads allocate too, each then from an arena of its own, and each arena keeps what was
     * freed in it for its own thread: a step's freed activations sit in two or more heaps where one would be reused.
     * With one arena the Pythia-70m step peaked 11% lower at the same speed (docs/performance.md, "Peak memory"). The
     * ffwd launcher sets it; a user's value wins.
     */
    public static final String ARENAS = "MALLOC_ARENA_MAX";

    /** {@link #ARENAS} where the user set none: one heap, shared by the step's threads. */
    public static final String DEFAULT_ARENAS = "1";

    /**
     * The variable jemalloc reads (once) for its options. Where libjemalloc is installed, the ffwd launcher preloads it
     * ({@code LD_PRELOAD}) in place of glibc's malloc with {@link #DEFAULT_JEMALLOC_CONF}: pages a step freed stay mapped
     * for the next step's blocks of the same size class. The Pythia-70m training step ran faster, and both benchmarked
     * shapes peaked lower, than with glibc's malloc (docs/performance.md, "jemalloc").
     * {@code FFWD_MALLOC=glibc} keeps glibc's; a user's LD_PRELOAD or MALLOC_CONF wins.
     */
    public static final String JEMALLOC_CONF = "MALLOC_CONF";

    /** {@link #JEMALLOC_CONF} where the user set none: freed pages are never returned to the kernel while the process runs. */
    public static final String DEFAULT_JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1";

    /** The variable through which the launcher preloads jemalloc. */
    private static final String PRELOAD = "LD_PRELOAD";

    /** What jemalloc's library file is named, whatever its directory and version suffix. */
    private static final String JEMALLOC_LIBRARY = "libjemalloc";

    /** Always set: no telemetry, no downloads. */
    private static final Map<String, String> ALWAYS = Map.of("OPT_OUT_TRACKING", "true", "DJL_OFFLINE", "true");

    private EngineEnv() {}

    /**
     * What a process ffwd starts gets: {@link #ALWAYS}, huge pages and malloc arenas as this process has them
     * ({@link #THP} on and {@link #DEFAULT_ARENAS} unless the user set otherwise), and the user's {@link #MMAP_THRESHOLD}
     * where there is one.
     */
    public static Map<String, String> forChildren() {
        Map<String, String> env = new LinkedHashMap<>(ALWAYS);
        env.put(THP, System.getenv().getOrDefault(THP, "1"));
        env.put(ARENAS, System.getenv().getOrDefault(ARENAS, DEFAULT_ARENAS));
        String mmap = System.getenv(MMAP_THRESHOLD);
        if (mmap != null) env.put(MMAP_THRESHOLD, mmap);
        return env;
    }

    /**
     * A reference engine's environment (PyTorch, llama.cpp): glibc's malloc with its own settings, as its users run it,
     * whatever ffwd's (jemalloc's preload removed with its options).
     */
    public static void forReference(Map<String, String> env) {
        env.remove(MMAP_THRESHOLD);
        env.remove(ARENAS);
        String preload = env.get(PRELOAD);
        if (preload != null && preload.contains(JEMALLOC_LIBRARY)) {
            env.remove(PRELOAD);
            env.remove(JEMALLOC_CONF);
        }
    }

    /**
     * The malloc serving this process: "jemalloc" where libjemalloc is loaded (with its options, MALLOC_CONF, when set),
     * else "glibc".
     */
    public static String allocator() {
        boolean jemalloc;
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            jemalloc = maps.anyMatch(l -> l.contains(JEMALLOC_LIBRARY));
        } catch (IOException | UncheckedIOException e) {
            jemalloc = false;
        }
        if (!jemalloc) return "glibc";
        String conf = System.getenv(JEMALLOC_CONF);
        return conf == null ? "jemalloc" : "jemalloc (" + conf + ")";
    }

    /** The mmap threshold this process's malloc runs with, in bytes; null where glibc adjusts its own (the variable unset). */
    public static Long mmapThreshold() {
        return number(MMAP_THRESHOLD);
    }

    /** The most malloc arenas this process may have; null where glibc's own limit holds (8 per core, the variable unset). */
    public static Long arenas() {
        return number(ARENAS);
    }

    /** A numeric variable's value; null where it is unset or no number (glibc ignores it then too). */
    private static Long number(String variable) {
        String v = System.getenv(variable);
        try {
            return v == null ? null : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Whether this process's libtorch allocates large tensors on huge pages ({@link #THP} is "1", the one true value libtorch reads). */
    public static boolean hugePages() {
        return "1".equals(System.getenv(THP));
    }
}
