package dev.ffwd;

import java.util.Map;

/**
 * The environment libtorch and DJL read at start-up, in one place: the {@code ffwd} launcher exports the same values,
 * and every process ffwd starts itself (Spark workers) gets them unless the user set them otherwise.
 */
public final class EngineEnv {

    /**
     * The variable libtorch's CPU allocator reads (once) to align tensors of 2 MB or more to 2 MB and ask the kernel for
     * transparent huge pages ({@code madvise}). Without it, each large temporary (a loss chunk's [positions, vocab]
     * logits, 51 MB on Pythia) is mapped afresh and faulted in 4 KB at a time; on the project's VMs that faulting took
     * a third of the Pythia-70m training step (docs/performance.md, "Huge pages").
     */
    public static final String THP = "THP_MEM_ALLOC_ENABLE";

    /** Name → value: no telemetry, no downloads, huge pages for large tensors. */
    public static final Map<String, String> VARIABLES = Map.of("OPT_OUT_TRACKING", "true", "DJL_OFFLINE", "true", THP, "1");

    private EngineEnv() {}

    /** Adds {@link #VARIABLES} to a child process's environment, keeping any the user set. */
    public static void applyTo(ProcessBuilder pb) {
        VARIABLES.forEach(pb.environment()::putIfAbsent);
    }

    /** Whether this process's libtorch allocates large tensors on huge pages ({@link #THP} is "1", the one true value libtorch reads). */
    public static boolean hugePages() {
        return "1".equals(System.getenv(THP));
    }
}
