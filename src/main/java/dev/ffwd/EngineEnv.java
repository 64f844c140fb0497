package dev.ffwd;

import java.util.LinkedHashMap;
import java.util.Map;

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

    /** Always set: no telemetry, no downloads. */
    private static final Map<String, String> ALWAYS = Map.of("OPT_OUT_TRACKING", "true", "DJL_OFFLINE", "true");

    private EngineEnv() {}

    /** What a process ffwd starts gets: {@link #ALWAYS}, and huge pages as this process has them (on unless the user set {@link #THP}). */
    public static Map<String, String> forChildren() {
        Map<String, String> env = new LinkedHashMap<>(ALWAYS);
        env.put(THP, System.getenv().getOrDefault(THP, "1"));
        return env;
    }

    /** Whether this process's libtorch allocates large tensors on huge pages ({@link #THP} is "1", the one true value libtorch reads). */
    public static boolean hugePages() {
        return "1".equals(System.getenv(THP));
    }
}
