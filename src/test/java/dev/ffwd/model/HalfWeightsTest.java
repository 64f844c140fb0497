package dev.ffwd.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.ffwd.TinyModels;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.io.DType;
import dev.ffwd.io.Half;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;
import dev.ffwd.train.LanguageModeling;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

/** Frozen weights of F16/BF16 checkpoints held at 2 bytes per value: same results as upcasting on load, half the bytes. */
class HalfWeightsTest {

    static final long[] IDS = {2, 37, 38, 5, 41, 56, 4, 47, 92, 41, 12, 68, 92};
    /** A generated Llama (GQA, SwiGLU, untied head), converted to F16 or BF16 per test; the real BF16 file is read in SafetensorsTest and ReferenceFidelityTest. */
    static final Path LLAMA = TinyModels.dir("tiny-llama");

    @Test
    void bf16CheckpointGivesTheFp32LogitsAtHalfTheBytes() {
        try (Transformer half = load(LLAMA, HalfWeightsTest::toBf16); Transformer full = load(LLAMA, t -> toF32(toBf16(t)))) {
            assertEquals(DataType.FLOAT16, half.linears().get("model.layers.0.self_attn.q_proj").weight().getDataType());
            assertEquals(DataType.FLOAT32, full.linears().get("model.layers.0.self_attn.q_proj").weight().getDataType());
            assertLogitsEqual(full, half, 1e-5);
            long twoD = 0, oneD = 0;
            for (Layout.Tensor t : full.layout().tensors()) {
                long n = Arrays.stream(t.shape()).reduce(1, (a, b) -> a * b);
                if (t.shape().length == 2) twoD += n; else oneD += n;
            }
            assertEquals(4 * (twoD + oneD), full.frozenBytes());
            assertEquals(2 * twoD + 4 * oneD, half.frozenBytes());  // matrices at 2 bytes, norms (1-D) in fp32
            assertTrue(half.frozenBytes() < 0.52 * full.frozenBytes(), half.frozenBytes() + " vs " + full.frozenBytes());
        }
    }

    @Test
    void f16CheckpointGivesExactlyTheUpcastResultsAndGradients() {
        try (Transformer half = load(LLAMA, HalfWeightsTest::toF16); Transformer full = load(LLAMA, t -> toF32(toF16(t)))) {
            assertEquals(DataType.FLOAT16, half.linears().get("model.layers.1.mlp.down_proj").weight().getDataType());
            assertLogitsEqual(full, half, 0);  // the same fp32 values reach every matmul
            List<float[]> g1 = gradients(full), g2 = gradients(half);
            for (int i = 0; i < g1.size(); i++) assertArrayEquals(g1.get(i), g2.get(i), 1e-6f);
        }
    }

    @Test
    void mergeAndDoraWorkOnTwoByteWeights() {
        try (Transformer half = load(LLAMA, HalfWeightsTest::toBf16); Transformer full = load(LLAMA, t -> toF32(toBf16(t)))) {
            double[] losses = new double[2];
            int k = 0;
            for (Transformer m : List.of(full, half)) {
                Lora lora = Lora.attach(m, new LoraConfig(2, 4, 0, List.of("q_proj", "down_proj"), true), 3);
                for (Param p : lora.params()) p.value().addi(0.05f);  // B non-zero, so the adapters change the output
                double adapted = loss(m);
                lora.merge();
                assertEquals(adapted, loss(m), 1e-4);
                lora.unmerge();
                assertEquals(adapted, loss(m), 1e-6);
                losses[k++] = adapted;
            }
            assertEquals(losses[0], losses[1], 1e-5);
        }
    }

    @Test
    void bf16ToF16ConversionIsExactInRangeAndRefusesOverflow() {
        float[] exact = {1.5f, -0.013671875f, 3.0517578e-5f, 0x1p-14f, 57344f, 0f};
        ByteBuffer f16 = bf16("w", exact).asF16OrNull().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < exact.length; i++) assertEquals(exact[i], Half.toFloat(f16.getShort(i * 2)), "value " + i);
        float tiny = Float.intBitsToFloat(Float.floatToIntBits(3e-7f) & 0xffff0000);  // below F16's normal range
        assertEquals(tiny, Half.toFloat(bf16("t", new float[]{tiny}).asF16OrNull().order(ByteOrder.LITTLE_ENDIAN).getShort(0)), 0x1p-25);
        assertNull(bf16("big", new float[]{1f, 70000f}).asF16OrNull());
        assertNull(RawTensor.ofFloats("f32", new long[]{1}, new float[]{1f}).asF16OrNull());
    }

    @Test
    void outOfRangeBf16TensorIsHeldInFp32() {
        String name = "model.layers.0.mlp.up_proj.weight";
        UnaryOperator<RawTensor> big = t -> {
            if (!t.name().equals(name)) return toBf16(t);
            float[] v = t.toFloats();
            v[0] = 1e5f;
            return bf16(t.name(), v, t.shape());
        };
        try (Transformer m = load(LLAMA, big)) {
            assertEquals(DataType.FLOAT32, m.linears().get("model.layers.0.mlp.up_proj").weight().getDataType());
            assertEquals(DataType.FLOAT16, m.linears().get("model.layers.0.mlp.down_proj").weight().getDataType());
            assertTrue(Double.isFinite(loss(m)));
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** The model in {@code dir} with each tensor passed through {@code convert}. */
    private static Transformer load(Path dir, UnaryOperator<RawTensor> convert) {
        ModelConfig c = ModelConfig.load(dir.resolve("config.json"));
        Map<String, RawTensor> ts = new LinkedHashMap<>();
        try (TensorStore s = SafetensorsReader.openModelDir(dir)) {
            for (String n : s.names()) ts.put(n, convert.apply(copy(s.get(n))));
        }
        return Pretrained.build(c, TensorStore.of(dir, ts), NDManager.newBaseManager());
    }

    private static RawTensor copy(RawTensor t) {
        ByteBuffer b = ByteBuffer.allocateDirect(t.data().remaining()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(t.data().duplicate()).flip();
        return new RawTensor(t.name(), t.dtype(), t.shape(), b);
    }

    private static RawTensor toF32(RawTensor t) {
        return RawTensor.ofFloats(t.name(), t.shape(), t.toFloats());
    }

    /** BF16 as a checkpoint stores it: the upper half of each fp32 value (truncation, as {@code bf16} writes it). */
    private static RawTensor toBf16(RawTensor t) {
        return bf16(t.name(), t.toFloats(), t.shape());
    }

    private static RawTensor toF16(RawTensor t) {
        float[] v = t.toFloats();
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putShort(Half.fromFloat(f));
        return new RawTensor(t.name(), DType.F16, t.shape(), b.flip());
    }

    private static RawTensor bf16(String name, float[] v, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putShort((short) (Float.floatToIntBits(f) >>> 16));
        return new RawTensor(name, DType.BF16, shape.length == 0 ? new long[]{v.length} : shape, b.flip());
    }

    private static void assertLogitsEqual(Transformer a, Transformer b, double tol) {
        try (NDScope ignored = new NDScope()) {
            float[] x = logits(a), y = logits(b);
            for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], tol, "logit " + i);
        }
    }

    private static float[] logits(Transformer m) {
        NDArray ids = m.manager().create(IDS).reshape(1, IDS.length);
        return m.logits(m.hidden(ids, ids.onesLike(), false)).toFloatArray();
    }

    private static Batch batch(Transformer m) {
        boolean[] t = new boolean[IDS.length];
        Arrays.fill(t, true);
        return Batch.of(List.of(new Example(IDS, t, -1)), m.manager());
    }

    private static double loss(Transformer m) {
        try (NDScope ignored = new NDScope()) {
            return new LanguageModeling(m).loss(batch(m), false).mean().getFloat();
        }
    }

    private static List<float[]> gradients(Transformer m) {
        Lora lora = Lora.attach(m, new LoraConfig(2, 4, 0, List.of("q_proj", "o_proj", "up_proj"), false), 5);
        for (Param p : lora.params()) p.value().addi(0.1f);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector(); NDScope ignored = new NDScope()) {
            gc.backward(new LanguageModeling(m).loss(batch(m), true).mean());
        }
        List<float[]> out = new ArrayList<>();
        for (Param p : lora.params())
            try (NDScope ignored = new NDScope()) {
                out.add(p.value().getGradient().toFloatArray());
            }
        Optimizer.zeroGrad(lora.params());
        return out;
    }
}
