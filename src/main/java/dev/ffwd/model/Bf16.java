package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Frozen linear products in bf16 (docs/performance.md, "BF16 compute: what the engine allows"). DJL aborts the JVM on
 * any BFLOAT16 array it is asked to make, so the casts run inside libtorch, in a {@link TorchScript} module: DJL only
 * holds the bf16 weight as a handle it reports as {@link DataType#UNKNOWN}, and {@code toType(FLOAT32)} on that handle
 * is an exact upcast, so every fp32 reader of a frozen weight ({@link Fp32#of}: merge, GGUF export, DoRA's norm) keeps
 * working. libtorch computes the product on
 * oneDNN's AVX512-BF16 kernels where the CPU has them ({@link #available}), rounding the operands and the result to
 * bf16 (8 significant bits); autograd flows through it to the input.
 */
public final class Bf16 {

    /** The CPU flags (Linux /proc/cpuinfo) of bf16 matrix instructions; without one, libtorch emulates bf16, slower than fp32. */
    static final java.util.List<String> FLAGS = java.util.List.of("avx512_bf16", "amx_bf16");

    /**
     * How far the bench lets a loss computed with bf16 frozen products lie from fp32's (relative) before it calls the
     * two other work. Each product rounds its operands and result to 8 significant bits (2⁻⁹ relative each); over a
     * batch the errors largely cancel: on the families' tiny models one batch's loss moved by at most 2e-5
     * (Bf16TrainingTest), and deeper, wider models accumulate more, hence the margin.
     */
    public static final double LOSS_TOLERANCE = 1e-2;

    /** The module, loaded on first use. */
    private static final TorchScript SCRIPT = new TorchScript("Bf16", String.join("\n",
            // Serialized TorchScript names dtypes by ScalarType number: 15 bfloat16, 6 float32.
            "  def forward(self: __torch__.Bf16, x: Tensor, w: Tensor) -> Tensor:",
            "    return torch.to(torch.linear(torch.to(x, 15), w), 6)",
            "  def weight(self: __torch__.Bf16, w: Tensor) -> Tensor:",
            "    return torch.to(w, 15)",
            ""));

    private Bf16() {}

    /** Whether this CPU reports bf16 matrix instructions ({@link #FLAGS}); false where /proc/cpuinfo cannot be read. */
    public static boolean available() {
        try {
            return supports(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether {@code cpuinfo} (the text of /proc/cpuinfo) lists one of {@link #FLAGS} on a "flags" line. */
    static boolean supports(String cpuinfo) {
        return cpuinfo.lines().filter(l -> l.startsWith("flags"))
                .anyMatch(l -> Arrays.stream(l.substring(l.indexOf(':') + 1).trim().split("\\s+")).anyMatch(FLAGS::contains));
    }

    /** {@code w} (fp32, or F16 from a 2-byte checkpoint) cast to a bf16 handle in {@code w}'s manager. */
    public static NDArray weight(NDArray w) {
        // Run in training mode too (TorchScript.run): a tensor made under the inference guard cannot be saved for
        // backward by the products that use it.
        return SCRIPT.run("weight", w).singletonOrThrow();
    }

    /** Whether {@code a} is a bf16 handle made by {@link #weight} (DJL names no other dtype UNKNOWN that ffwd creates). */
    public static boolean holds(NDArray a) {
        return a.getDataType() == DataType.UNKNOWN;
    }

    /** x [.., in] (fp32) · wᵀ with {@code w} a bf16 handle [out, in], computed in bf16; the result and {@code bias} add in fp32. */
    public static NDArray linear(NDArray x, NDArray w, NDArray bias) {
        NDArray y = SCRIPT.run("forward", x, w).singletonOrThrow();
        return bias == null ? y : y.add(bias);
    }
}
