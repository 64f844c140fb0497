package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.ffwd.FfwdException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Frozen linear products in bf16 (docs/performance.md, "BF16 compute: what the engine allows"). DJL aborts the JVM on
 * any BFLOAT16 array it is asked to make, so the casts run inside libtorch, in a TorchScript module written here (no
 * Python, no committed binary) and loaded once per process: DJL only holds the bf16 weight as a handle it reports as
 * {@link DataType#UNKNOWN}, and {@code toType(FLOAT32)} on that handle is an exact upcast, so every fp32 reader of a
 * frozen weight ({@link Fp32#of}: merge, GGUF export, DoRA's norm) keeps working. libtorch computes the product on
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

    /** The module and its method marker, made on first use; they live as long as the process (one per engine). */
    private static PtSymbolBlock module;
    private static NDArray weightMethod;

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
        // Run in training mode too: DJL's runMethod runs under libtorch's inference guard, and a tensor made there
        // cannot be saved for backward by the products that use it.
        return run(new NDList(w, marker())).singletonOrThrow();
    }

    /** Whether {@code a} is a bf16 handle made by {@link #weight} (DJL names no other dtype UNKNOWN that ffwd creates). */
    public static boolean holds(NDArray a) {
        return a.getDataType() == DataType.UNKNOWN;
    }

    /** x [.., in] (fp32) · wᵀ with {@code w} a bf16 handle [out, in], computed in bf16; the result and {@code bias} add in fp32. */
    public static NDArray linear(NDArray x, NDArray w, NDArray bias) {
        NDArray y = run(new NDList(x, w)).singletonOrThrow();
        return bias == null ? y : y.add(bias);
    }

    private static NDList run(NDList inputs) {
        // Thread-local in libtorch: without it the profiling executor instruments the first calls of each thread.
        JniUtils.setGraphExecutorOptimize(false);
        return IValueUtils.forward(module(), inputs, true);
    }

    private static synchronized PtSymbolBlock module() {
        if (module == null) {
            PtNDManager m = (PtNDManager) NDManager.newBaseManager();  // never closed: the module serves the whole process
            try {
                module = JniUtils.loadModule(m, new ByteArrayInputStream(archive()), true, false);
            } catch (IOException e) {
                throw new FfwdException("bf16: cannot load the TorchScript module: " + e.getMessage());
            }
            weightMethod = m.zeros(new Shape(1));
            weightMethod.setName("module_method:weight");  // IValueUtils' way of naming a method other than forward
        }
        return module;
    }

    private static synchronized NDArray marker() {
        module();
        return weightMethod;
    }

    /** Serialized TorchScript names dtypes by ScalarType number: 15 bfloat16, 6 float32. */
    static final String CODE = String.join("\n",
            "class Bf16(Module):",
            "  __parameters__ = []",
            "  __buffers__ = []",
            "  training : bool",
            "  def forward(self: __torch__.Bf16, x: Tensor, w: Tensor) -> Tensor:",
            "    return torch.to(torch.linear(torch.to(x, 15), w), 6)",
            "  def weight(self: __torch__.Bf16, w: Tensor) -> Tensor:",
            "    return torch.to(w, 15)",
            "");

    /**
     * The TorchScript archive: the pickled module object, its class as serialized TorchScript source ({@link #CODE}), an
     * empty constants table and the format version. {@code forward(x, w)}: x [.., in] fp32, w [out, in] bf16 -> fp32
     * x·wᵀ computed in bf16; {@code weight(w)}: w cast to bf16.
     */
    static byte[] archive() throws IOException {
        // Pickle protocol 2 of __torch__.Bf16() with state {"training": True}: PROTO 2, GLOBAL, EMPTY_TUPLE, NEWOBJ,
        // EMPTY_DICT, MARK, BINUNICODE (4-byte little-endian length), NEWTRUE, SETITEMS, BUILD, STOP.
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.write(new byte[]{(byte) 0x80, 2});
        pickle.write("c__torch__\nBf16\n)\u0081}(X".getBytes(StandardCharsets.ISO_8859_1));
        pickle.write(new byte[]{8, 0, 0, 0});
        pickle.write("training\u0088ub.".getBytes(StandardCharsets.ISO_8859_1));
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            entry(z, "bf16/data.pkl", pickle.toByteArray());
            entry(z, "bf16/code/__torch__.py", CODE.getBytes(StandardCharsets.UTF_8));
            entry(z, "bf16/constants.pkl", new byte[]{(byte) 0x80, 2, ')', '.'});
            entry(z, "bf16/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
        return zip.toByteArray();
    }

    private static void entry(ZipOutputStream z, String name, byte[] bytes) throws IOException {
        z.putNextEntry(new ZipEntry(name));
        z.write(bytes);
        z.closeEntry();
    }
}
