package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.ffwd.FfwdException;
import dev.ffwd.TestData;
import dev.ffwd.TinyModels;
import dev.ffwd.data.Example;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.DType;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Bf16;
import dev.ffwd.model.Bf16EngineTest;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Precision;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.RandomCheckpoint;
import dev.ffwd.model.Scoring;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training with bf16 frozen products ({@link Precision#BF16}) against fp32, on every family's tiny model: the loss and
 * the LoRA gradients of one batch within stated tolerances, the trainable tensors and the optimizer state in fp32, a
 * short run's test loss within 1% of fp32's, and a resume under the other precision refused. bf16 keeps 8 significant
 * bits, so each operand and each product is rounded by up to 2⁻⁹ relative; the tolerances below are a few times the
 * largest gap measured here (printed by each test). These run only where the CPU has bf16 instructions: elsewhere
 * ffwd computes in fp32 and there is nothing to compare.
 */
class Bf16TrainingTest {

    /**
     * Relative gap of one batch's loss: measured at most 1.9e-5 (tiny-qwen3). Each product's relative error (about
     * 2⁻⁹ ≈ 2e-3 per element) is random in sign and shrinks in the mean over tokens and through the softmax of
     * near-uniform tiny-model logits, so the loss moves far less than one product.
     */
    static final double LOSS = 1e-4;
    /**
     * ‖g_bf16 − g_fp32‖ / ‖g_fp32‖ of each LoRA tensor's gradient: measured at most 1.1e-2 (tiny-llama, tiny-mistral):
     * a gradient passes through the products of every later layer, forward and backward, each adding its rounding.
     */
    static final double GRADIENT = 0.05;
    /** Cosine similarity of each LoRA tensor's gradient with fp32's: measured at least 0.99995. */
    static final double COSINE = 0.999;
    /** The bound on a short run's final test loss, relative to fp32's. */
    static final double TEST_LOSS = 0.01;

    @TempDir Path tmp;

    @BeforeEach
    void needsBf16Instructions() {
        assumeTrue(Bf16.available(), "this CPU has no bf16 instructions: ffwd computes in fp32 here");
    }

    /** Stories, or for the encoder (whose tiny tokenizer has no mask token) the same stories labelled by their mood. */
    FineTune.Options options(String family, TrainConfig t, Precision p) throws Exception {
        Path fixture = TinyModels.dir(family);
        boolean encoder = !ModelConfig.load(fixture.resolve("config.json")).causal();
        Path data = TestData.stories(tmp, 60, 3);
        if (encoder) {
            List<String> labelled = new ArrayList<>();
            for (String line : Files.readAllLines(data))
                labelled.add(line.replace("\"}", "\", \"label\": \"" + (line.contains("sad") ? "sad" : "glad") + "\"}"));
            Files.write(data, labelled);
        }
        List<String> targets = ModelConfig.load(fixture.resolve("config.json")).arch().defaultTargets();
        return FineTune.Options.builder(fixture.toString(), data, new LoraConfig(4, 8, 0, targets, false))
                .format(encoder ? Format.CLASSIFICATION : Format.TEXT).maxLength(32).train(t).testFraction(0.3).validationSize(0)
                .precision(p).build();
    }

    record Measured(double loss, List<float[]> grads) {}

    /**
     * One batch's loss and gradients, with every trainable tensor set to the same seeded values (B = 0 would zero A's
     * gradient) of the frozen weights' scale, so that the side path does not drown the frozen products' rounding.
     */
    static Measured measure(FineTune ft) {
        Trainer t = ft.newRun(FfConfig.off(), null).trainer();
        Random r = new Random(5);
        for (Param p : t.params()) {
            float[] v = new float[(int) p.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.02 * r.nextGaussian());
            p.set(v);
        }
        List<Example> batch = ft.splits.train().subList(0, 8);
        try (NDManager m = NDManager.newBaseManager()) {
            Gradients.Sum s = Gradients.local(ft.objective(), t.params(), t.config(), m).sum(0, List.of(batch));
            List<float[]> grads = new ArrayList<>();
            for (NDArray g : s.grads()) {
                assertEquals(DataType.FLOAT32, g.getDataType());
                grads.add(g.toFloatArray());
            }
            return new Measured(s.loss(), grads);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-gpt-neox", "tiny-gpt2", "tiny-bert"})
    void theLossAndTheLoraGradientsStayWithinTheirTolerancesOfFp32(String family) throws Exception {
        TrainConfig t = TestData.config(1, 1e-2);
        Measured f, b;
        try (FineTune ft = FineTune.prepare(options(family, t, Precision.FP32))) {
            f = measure(ft);
        }
        try (FineTune ft = FineTune.prepare(options(family, t, Precision.BF16))) {
            assertEquals(Precision.BF16, ft.precision);
            ft.pretrained.model().linears().values().forEach(l -> assertTrue(Bf16.holds(l.weight()), l.name + " is held in bf16"));
            b = measure(ft);
        }
        double lossGap = Math.abs(b.loss() - f.loss()) / Math.abs(f.loss()), worstNorm = 0, worstCos = 1;
        assertTrue(lossGap > 0, family + ": the same loss to the last bit: no bf16 compute took place");
        for (int i = 0; i < f.grads().size(); i++) {
            float[] x = f.grads().get(i), y = b.grads().get(i);
            double dot = 0, xx = 0, yy = 0, dd = 0;
            for (int k = 0; k < x.length; k++) {
                dot += (double) x[k] * y[k];
                xx += (double) x[k] * x[k];
                yy += (double) y[k] * y[k];
                dd += (double) (x[k] - y[k]) * (x[k] - y[k]);
            }
            assertTrue(xx > 0, family + ": gradient " + i + " is zero");
            worstNorm = Math.max(worstNorm, Math.sqrt(dd / xx));
            worstCos = Math.min(worstCos, dot / Math.sqrt(xx * yy));
        }
        System.out.printf(Locale.ROOT, "%s: loss %.6f (fp32) vs %.6f (bf16), relative gap %.2e; gradients: worst relative error %.2e, worst cosine %.6f%n",
                family, f.loss(), b.loss(), lossGap, worstNorm, worstCos);
        assertTrue(lossGap <= LOSS, family + ": loss gap " + lossGap);
        assertTrue(worstNorm <= GRADIENT, family + ": gradient relative error " + worstNorm);
        assertTrue(worstCos >= COSINE, family + ": gradient cosine " + worstCos);
    }

    /**
     * 30 steps. Measured final gaps: at most 3.8e-3 (tiny-qwen3), most below 1e-3. tiny-bert's classifier runs at
     * lr 1e-2: at 3e-2 its test loss falls from 0.6 to 0.01 within eight steps, and on that cliff the two runs part
     * (0.008 in fp32, 0.28 in bf16 at step 30, the bf16 run oscillating), as any two runs a rounding apart would.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-gpt-neox", "tiny-gpt2", "tiny-bert"})
    void aShortRunReachesFp32sTestLossWithinOnePercentWithFp32StateThroughout(String family) throws Exception {
        TrainConfig t = TestData.config(30, family.equals("tiny-bert") ? 1e-2 : 3e-2).toBuilder().evalEvery(10).build();
        double[] start = new double[2], end = new double[2];
        for (Precision p : List.of(Precision.FP32, Precision.BF16))
            try (FineTune ft = FineTune.prepare(options(family, t, p))) {
                TrainingRun run = ft.newRun(FfConfig.off(), null);
                run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
                assertEquals(30, run.trainer().steps());
                start[p.ordinal()] = run.history().points.get(0).testLoss();
                end[p.ordinal()] = run.history().lastTestLoss();
                for (Param q : run.trainer().params()) assertEquals(DataType.FLOAT32, q.value().getDataType(), q.name());
                run.trainer().optimizer().buffers().forEach((name, bufs) -> {
                    for (NDArray a : bufs) assertEquals(DataType.FLOAT32, a.getDataType(), name);
                });
            }
        double gap = Math.abs(end[1] - end[0]) / end[0];
        System.out.printf(Locale.ROOT, "%s: test loss %.5f -> %.5f (fp32), %.5f -> %.5f (bf16), final relative gap %.2e%n",
                family, start[0], end[0], start[1], end[1], gap);
        assertTrue(start[0] - end[0] > 0.1, family + ": fp32 training did not learn, so the comparison says little");
        assertTrue(gap <= TEST_LOSS, family + ": final test loss bf16 " + end[1] + " vs fp32 " + end[0]);
    }

    /** Activation checkpointing recomputes the bf16 products in backward: the same loss and gradients as without it. */
    @Test
    void activationCheckpointingRecomputesTheSameBf16Products() throws Exception {
        TrainConfig t = TestData.config(1, 1e-2);
        Measured plain, recomputed;
        try (FineTune ft = FineTune.prepare(options("tiny-qwen2", t, Precision.BF16))) {
            plain = measure(ft);
        }
        TrainConfig c = t.toBuilder().memory(new TrainConfig.Memory(TrainConfig.Memory.LOSS_CHUNK, true)).build();
        try (FineTune ft = FineTune.prepare(options("tiny-qwen2", c, Precision.BF16))) {
            recomputed = measure(ft);
        }
        assertEquals(plain.loss(), recomputed.loss(), 1e-6 * Math.abs(plain.loss()));
        for (int i = 0; i < plain.grads().size(); i++) assertArrayEquals(plain.grads().get(i), recomputed.grads().get(i), 1e-6f, "gradient " + i);
    }

    @Test
    void aResumeUnderTheOtherPrecisionIsRefusedNamingIt() throws Exception {
        Path ckpt = tmp.resolve("ck.safetensors");
        TrainConfig t = TestData.config(3, 5e-3);
        for (Precision written : List.of(Precision.FP32, Precision.BF16)) {
            Precision other = written == Precision.FP32 ? Precision.BF16 : Precision.FP32;
            try (FineTune ft = FineTune.prepare(options("tiny-llama", t, written))) {
                ft.newRun(FfConfig.off(), ckpt).run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            }
            try (FineTune ft = FineTune.prepare(options("tiny-llama", t, other))) {
                FfwdException e = assertThrows(FfwdException.class, () -> ft.newRun(FfConfig.off(), ckpt).resume());
                String was = written == Precision.BF16 ? "bf16" : "(not set)", is = other == Precision.BF16 ? "bf16" : "(not set)";
                assertTrue(e.getMessage().contains("checkpoint was written with precision " + was + ", this run has precision " + is), e.getMessage());
            }
            try (FineTune ft = FineTune.prepare(options("tiny-llama", t, Precision.AUTO))) {
                assertEquals(Precision.BF16, ft.precision, "auto picks bf16 on this CPU");
                if (written == Precision.BF16) assertTrue(ft.newRun(FfConfig.off(), ckpt).resume(), "auto resumes what it computes in");
                else assertThrows(FfwdException.class, () -> ft.newRun(FfConfig.off(), ckpt).resume());
            }
            Files.delete(ckpt);
        }
    }

    /**
     * The bf16 handles upcast exactly ({@link Fp32#of}, as merge, GGUF export and DoRA read them) to the weights as held
     * before, rounded to bf16: for a BF16 checkpoint the file's values, except those below F16's normal range, which
     * the F16 copy held from load had already rounded. DoRA computes on them; merge computes in fp32 on the rounded
     * weights, and unmerge restores the handles.
     */
    @Test
    void bf16HandlesUpcastExactlyAndDoraMergeAndUnmergeWorkOnThem() throws Exception {
        String config = Files.readString(TinyModels.dir("tiny-llama").resolve("config.json"));
        for (DType stored : List.of(DType.F32, DType.BF16)) {
            Path dir = Files.createDirectories(tmp.resolve(stored.name()));
            Files.copy(TinyModels.dir("tiny-llama").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
            RandomCheckpoint.write(dir, config, 9, stored);
            try (Pretrained p = Pretrained.load(dir);
                 TensorStore file = SafetensorsReader.openModelDir(dir)) {
                Transformer m = p.model();
                long before = m.frozenBytes(), linearValues = m.linears().values().stream().mapToLong(l -> l.in() * l.out()).sum();
                Map<String, float[]> held = new HashMap<>();
                for (var l : m.linears().values())
                    try (Fp32 w = Fp32.of(l.weight())) {
                        held.put(l.name, w.array().toFloatArray());
                    }
                m.computeIn(Precision.BF16);
                long saved = stored == DType.F32 ? 2 * linearValues : 0;  // fp32 -> 2 bytes; F16 copies were 2 already
                assertEquals(before - saved, m.frozenBytes(), stored + ": bytes held");
                for (var l : m.linears().values())
                    try (Fp32 w = Fp32.of(l.weight())) {
                        float[] values = file.get(l.name + ".weight").toFloats(), upcast = w.array().toFloatArray();
                        assertArrayEquals(Bf16EngineTest.bf16(held.get(l.name)), upcast, l.name + ": the held values, rounded to bf16");
                        if (stored == DType.BF16)  // the file's values, but where the F16 copy's subnormals rounded them
                            for (int i = 0; i < values.length; i++)
                                if (Math.abs(values[i]) >= 0x1p-14f) assertEquals(values[i], upcast[i], l.name + "[" + i + "]");
                    }
                long[] ids = {90, 60, 65, 86, 55, 74, 80, 21, 5};
                Lora lora = Lora.attach(m, new LoraConfig(4, 8, 0, List.of("q_proj", "v_proj"), true), 3);
                Random r = new Random(4);
                for (Param q : lora.params()) {
                    if (!q.name().endsWith("lora_B.weight")) continue;
                    float[] v = new float[(int) q.size()];
                    for (int i = 0; i < v.length; i++) v[i] = (float) (0.05 * r.nextGaussian());
                    q.set(v);
                }
                double[] unmerged = Scoring.tokenLogprobs(m, ids);
                lora.merge();
                double[] merged = Scoring.tokenLogprobs(m, ids);
                lora.unmerge();
                m.linears().values().forEach(l -> assertTrue(Bf16.holds(l.weight()), l.name + ": unmerge restores the bf16 handle"));
                assertArrayEquals(unmerged, Scoring.tokenLogprobs(m, ids), 0, "unmerged again");
                for (int t = 1; t < ids.length; t++)
                    assertEquals(unmerged[t], merged[t], 1e-2, "merged (fp32 on the rounded weights) vs bf16 products, token " + t);
            }
        }
    }
}
