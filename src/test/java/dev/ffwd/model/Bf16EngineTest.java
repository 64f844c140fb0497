package dev.ffwd.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What DJL 0.36 / PyTorch 2.7.1 allow for BF16 compute (docs/performance.md, "BF16 compute: what the engine allows").
 * DJL's JNI maps only its first nine DataType ordinals to a torch ScalarType and rethrows with no active exception
 * for any other ({@code djl_pytorch_utils.h}, {@code GetScalarTypeFromDType}: {@code default: throw;}), so asking
 * DJL for a BFLOAT16 array (ordinal 11) calls std::terminate. A TorchScript module can still cast inside libtorch:
 * DJL only ever sees the bf16 tensor as a handle of type UNKNOWN. Both facts are asserted so that a DJL that changes
 * either one fails here. The module is {@link Bf16}'s.
 */
public class Bf16EngineTest {

    /** bf16 unit roundoff: 8 significant bits, round to nearest. */
    static final double U = Math.scalb(1.0, -8);

    /** The reproducer's child process: an FP16 cast (fine), then a BFLOAT16 cast, which aborts the JVM. */
    public static final class ToTypeBf16 {
        public static void main(String[] args) {
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray x = m.ones(new Shape(4, 4));
                System.out.println("to float16: " + x.toType(DataType.FLOAT16, false).getDataType());
                System.out.flush();
                System.out.println("to bfloat16: " + x.toType(DataType.BFLOAT16, false).getDataType());
            }
        }
    }

    @Test
    void askingDjlForABf16ArrayAbortsTheJvm() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), ToTypeBf16.class.getName()).redirectErrorStream(true);
        pb.environment().put("OPT_OUT_TRACKING", "true");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child timed out");
        assertTrue(out.contains("to float16: float16"), "the child failed before the BFLOAT16 cast:\n" + out);
        assertEquals(134, p.exitValue(), "DJL no longer aborts on BFLOAT16 (revisit docs/performance.md):\n" + out);
        assertTrue(out.contains("terminate called without an active exception"), out);
    }

    @Test
    void aTorchScriptModuleComputesLinearInBf16WithTheInputGradient() {
        Engine engine = Engine.getEngine("PyTorch");
        int rows = 6, in = 64, out = 32;
        Random r = new Random(7);
        float[] xs = gaussians(r, rows * in), ws = gaussians(r, out * in);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(ws, new Shape(out, in));
            NDArray wb = Bf16.weight(w);
            assertTrue(Bf16.holds(wb));
            assertEquals(DataType.UNKNOWN, wb.getDataType(), "DJL now names libtorch's bfloat16 (revisit docs/performance.md)");
            assertArrayEquals(bf16(ws), wb.toType(DataType.FLOAT32, false).toFloatArray(), "the upcast through DJL is exact");

            NDArray x = m.create(xs, new Shape(2, rows / 2, in));
            x.setRequiresGradient(true);
            float[] y;
            try (GradientCollector gc = engine.newGradientCollector()) {
                NDArray yArr = Bf16.linear(x, wb, null);
                assertEquals(DataType.FLOAT32, yArr.getDataType());
                assertEquals(new Shape(2, rows / 2, out), yArr.getShape());
                y = yArr.toFloatArray();
                gc.backward(yArr.sum());
            }
            float[] xb = bf16(xs), wbs = bf16(ws), g = x.getGradient().toFloatArray();
            double fp32Gap = 0, scale = 0;
            for (int i = 0; i < rows; i++) {
                for (int o = 0; o < out; o++) {
                    // The product of the bf16-rounded operands, accumulated in fp32 and rounded once to bf16.
                    double ref = 0, abs = 0, full = 0;
                    for (int k = 0; k < in; k++) {
                        ref += (double) xb[i * in + k] * wbs[o * in + k];
                        abs += Math.abs((double) xb[i * in + k] * wbs[o * in + k]);
                        full += (double) xs[i * in + k] * ws[o * in + k];
                    }
                    assertEquals(ref, y[i * out + o], U * Math.abs(ref) + 1e-6 * abs, "y[" + i + "," + o + "]");
                    fp32Gap = Math.max(fp32Gap, Math.abs(full - y[i * out + o]));
                    scale = Math.max(scale, Math.abs(full));
                }
            }
            assertTrue(fp32Gap > 1e-4 * scale, "the result is as close to fp32 as fp32 itself: no bf16 compute took place");
            // d(sum y)/dx = ones·W in bf16: each column sum of the rounded weight, rounded once to bf16.
            for (int k = 0; k < in; k++) {
                double ref = 0, abs = 0;
                for (int o = 0; o < out; o++) {
                    ref += wbs[o * in + k];
                    abs += Math.abs(wbs[o * in + k]);
                }
                for (int i = 0; i < rows; i++) assertEquals(ref, g[i * in + k], U * Math.abs(ref) + 1e-6 * abs, "dx[" + i + "," + k + "]");
            }
        }
    }

    @Test
    void theCpuFlagsDecideWhetherBf16IsAvailable() {
        assertTrue(Bf16.supports("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 avx512_vnni\n"));
        assertTrue(Bf16.supports("flags\t: fpu amx_tile amx_bf16 amx_int8\n"));
        assertFalse(Bf16.supports("flags\t: fpu sse avx2 fma avx512f\nbugs\t: avx512_bf16\n"), "only a flags line counts");
        assertFalse(Bf16.supports(""));
        assertEquals(Precision.FP32, Precision.BF16.on(false));
        assertEquals(Precision.FP32, Precision.AUTO.on(false));
        assertEquals(Precision.BF16, Precision.AUTO.on(true));
        assertEquals(Precision.FP32, Precision.FP32.on(true));
        assertTrue(Precision.BF16.describe(Precision.FP32).contains("--precision bf16 asked, but this CPU reports none of avx512_bf16, amx_bf16"));
        assertEquals(Precision.BF16, Precision.parse(" BF16 "));
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
    }

    static float[] gaussians(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /** Each value rounded to bf16 (nearest, ties to even), as libtorch casts; finite inputs only. */
    public static float[] bf16(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            int bits = Float.floatToRawIntBits(a[i]);
            b[i] = Float.intBitsToFloat((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000);
        }
        return b;
    }
}
