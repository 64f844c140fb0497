package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Prodigy, Schedule-Free AdamW and D-Adaptation Adam against float64 transcriptions of their reference implementations
 * ({@link ReferenceOptimizers}) on a small problem: a random 3×4 tensor and an all-zero 4×2 one (as LoRA's B starts),
 * ten steps of gradients that share a direction (so the step-size estimates move) plus noise at scales from 0.1 to 10.
 * After every step the parameters, the buffers and the global scalars must agree to fp32 accuracy. Each optimizer
 * must also resume bit for bit from its state.
 */
class LrFreeOptimizersTest {

    static final long[][] SHAPES = {{3, 4}, {4, 2}};
    static final int STEPS = 10;
    NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /**
     * Initial values: seeded normal floats of scale 0.01 for the first tensor (LoRA's A is of that order), zeros for the
     * second. Prodigy's numerator sums g·(x₀ − x), a difference of nearly equal fp32 numbers in its first steps (d0 is
     * 1e-6), so the fp32 rounding of x against d's float64 value grows with |x|; at this scale it stays below 1e-4.
     */
    static float[][] init() {
        Random r = new Random(3);
        float[][] p = new float[SHAPES.length][];
        for (int i = 0; i < SHAPES.length; i++) {
            p[i] = new float[(int) (SHAPES[i][0] * SHAPES[i][1])];
            if (i == 0) for (int j = 0; j < p[i].length; j++) p[i][j] = (float) (0.01 * r.nextGaussian());
        }
        return p;
    }

    /** Step k's gradients: a fixed direction plus noise, scaled by 0.1 … 10. */
    static float[][] grads(int k) {
        Random dir = new Random(5), noise = new Random(100 + k);
        double scale = Math.pow(10, (k % 3) - 1);
        float[][] g = new float[SHAPES.length][];
        for (int i = 0; i < SHAPES.length; i++) {
            g[i] = new float[(int) (SHAPES[i][0] * SHAPES[i][1])];
            for (int j = 0; j < g[i].length; j++) g[i][j] = (float) (scale * (dir.nextGaussian() + 0.5 * noise.nextGaussian()));
        }
        return g;
    }

    static double[][] widen(float[][] a) {
        double[][] d = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            d[i] = new double[a[i].length];
            for (int j = 0; j < a[i].length; j++) d[i][j] = a[i][j];
        }
        return d;
    }

    List<Param> params(float[][] values) {
        List<Param> ps = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            NDArray a = manager.create(values[i], new Shape(SHAPES[i]));
            ps.add(new Param(i == 0 ? "m.lora_A.weight" : "m.lora_B.weight", a));
        }
        return ps;
    }

    void step(Optimizer opt, List<Param> ps, int k, double lr) {
        float[][] g = grads(k);
        List<NDArray> gs = new ArrayList<>();
        for (int i = 0; i < g.length; i++) gs.add(manager.create(g[i], new Shape(SHAPES[i])));
        opt.step(ps, gs, lr);
        gs.forEach(NDArray::close);
    }

    /** fp32 against float64: each value within 1e-4 of the reference, relative to the tensor's largest magnitude. */
    static void close(double[][] ref, float[][] ours, String what) {
        for (int i = 0; i < ref.length; i++) {
            double scale = 1e-30;
            for (double v : ref[i]) scale = Math.max(scale, Math.abs(v));
            for (int j = 0; j < ref[i].length; j++)
                assertEquals(ref[i][j], ours[i][j], 1e-4 * scale, what + " tensor " + i + " [" + j + "]");
        }
    }

    static void close(double ref, double ours, String what) {
        assertEquals(ref, ours, 1e-4 * Math.abs(ref) + 1e-30, what);
    }

    static float[][] values(List<Param> ps) {
        return ps.stream().map(Param::toFloats).toArray(float[][]::new);
    }

    static float[][] buffer(Optimizer opt, int index) {
        return opt.buffers().values().stream().map(b -> b[index].toFloatArray()).toArray(float[][]::new);
    }

    @Test
    void prodigyMatchesItsReferenceWithDefaultsAndWithDecayBiasCorrectionAndSafeguard() {
        for (boolean options : new boolean[]{false, true}) {
            Prodigy.Spec spec = options ? Prodigy.Spec.defaults().withOptions(true, true) : Prodigy.Spec.defaults();
            double wd = options ? 0.1 : 0;
            Optimizer opt = spec.build(wd, 0, 1, STEPS);
            ReferenceOptimizers.Prodigy ref = new ReferenceOptimizers.Prodigy(1.0, 0.9, 0.999, null, 1e-8, wd, true, options, options, 1e-6, 1.0,
                    Double.POSITIVE_INFINITY);
            List<Param> ps = params(init());
            double[][] rp = widen(init());
            for (int k = 0; k < STEPS; k++) {
                step(opt, ps, k, 1.0);
                ref.step(rp, widen(grads(k)));
                String at = (options ? "wd/bias/safeguard" : "defaults") + ", step " + (k + 1);
                close(rp, values(ps), "params, " + at);
                close(ref.expAvg(), buffer(opt, 0), "exp_avg, " + at);
                close(ref.s(), buffer(opt, 2), "s, " + at);
                Map<String, Double> sc = opt.scalars();
                close(ref.d(), sc.get("d"), "d, " + at);
                close(ref.dMax(), sc.get("d_max"), "d_max, " + at);
                // ⟨g, x₀ − x⟩ cancels most in fp32 while d stays near d0 (the safeguarded run never leaves it): 1e-3 relative
                assertEquals(ref.dNumerator(), sc.get("d_numerator"), 1e-3 * Math.abs(ref.dNumerator()), "d_numerator, " + at);
                assertEquals(ref.k(), sc.get("k").longValue(), at);
            }
            if (!options) assertTrue(ref.d() > 100 * 1e-6, "the problem moves d off d0 (d = " + ref.d() + ")");
            opt.close();
        }
    }

    @Test
    void dAdaptAdamMatchesItsReference() {
        for (boolean options : new boolean[]{false, true}) {
            DAdaptAdam.Spec base = DAdaptAdam.Spec.defaults();
            DAdaptAdam.Spec spec = options ? new DAdaptAdam.Spec(0.9, 0.999, 1e-8, true, true, base.d0(), base.growthRate()) : base;
            double wd = options ? 0.1 : 0;
            Optimizer opt = spec.build(wd, 0, 1, STEPS);
            ReferenceOptimizers.DAdaptAdam ref = new ReferenceOptimizers.DAdaptAdam(1.0, 0.9, 0.999, 1e-8, wd, options, options, 1e-6,
                    Double.POSITIVE_INFINITY);
            List<Param> ps = params(init());
            double[][] rp = widen(init());
            for (int k = 0; k < STEPS; k++) {
                step(opt, ps, k, 1.0);
                ref.step(rp, widen(grads(k)));
                String at = (options ? "decoupled wd/bias" : "defaults") + ", step " + (k + 1);
                close(rp, values(ps), "params, " + at);
                close(ref.s(), buffer(opt, 2), "s, " + at);
                Map<String, Double> sc = opt.scalars();
                close(ref.d(), sc.get("d"), "d, " + at);
                close(ref.numeratorWeighted(), sc.get("numerator_weighted"), "numerator, " + at);
                assertEquals(ref.k(), sc.get("k").longValue(), at);
            }
            assertTrue(ref.d() > 10 * 1e-6, "the problem moves d off d0 (d = " + ref.d() + ")");
            opt.close();
        }
    }

    @Test
    void scheduleFreeMatchesItsReferenceAndEvaluatesAtX() {
        for (int warmup : new int[]{0, 5}) {
            double wd = warmup > 0 ? 0.01 : 0;
            ScheduleFree opt = new ScheduleFree(ScheduleFree.Spec.defaults(), warmup, wd, 0);
            ReferenceOptimizers.ScheduleFree ref = new ReferenceOptimizers.ScheduleFree(2.5e-3, 0.9, 0.999, 1e-8, wd, warmup, 0, 2);
            List<Param> ps = params(init());
            double[][] rp = widen(init());
            for (int k = 0; k < STEPS; k++) {
                step(opt, ps, k, 2.5e-3);
                ref.step(rp, widen(grads(k)));
                String at = "warm-up " + warmup + ", step " + (k + 1);
                close(ref.y(), values(ps), "y (the parameters while training), " + at);
                close(ref.z(), buffer(opt, 0), "z, " + at);
                Map<String, Double> sc = opt.scalars();
                close(ref.weightSum(), sc.get("weight_sum"), "weight_sum, " + at);
                close(ref.lrMax(), sc.get("lr_max"), "lr_max, " + at);
                float[][] y = values(ps);
                opt.useModelWeights(ps);
                close(ref.x(), values(ps), "x (the model), " + at);
                opt.useTrainingWeights(ps);
                assertArrayEquals(y, values(ps), "switching to x and back gives y bit for bit, " + at);
            }
            opt.close();
        }
    }

    /** Each optimizer, stopped after 4 steps and restored into a fresh instance from its state, ends bit for bit where an uninterrupted one does. */
    @Test
    void everyOptimizerResumesBitForBit() {
        List<Supplier<Optimizer>> all = List.of(() -> Prodigy.Spec.defaults().build(0.01, 1.0, 1, STEPS),
                () -> ScheduleFree.Spec.defaults().build(0.01, 1.0, 1, STEPS), () -> DAdaptAdam.Spec.defaults().build(0.01, 1.0, 1, STEPS),
                () -> AdamW.Spec.defaults().build(0.01, 1.0, 4, STEPS), () -> Sgd.Spec.defaults().build(0.01, 1.0, 4, STEPS));
        for (Supplier<Optimizer> make : all) {
            Optimizer straight = make.get();
            List<Param> a = params(init());
            for (int k = 0; k < STEPS; k++) step(straight, a, k, 1e-2);
            Optimizer first = make.get();
            List<Param> b = params(init());
            for (int k = 0; k < 4; k++) step(first, b, k, 1e-2);
            first.useModelWeights(b);  // as an evaluation before the checkpoint leaves it
            first.useTrainingWeights(b);
            Optimizer.State saved = first.state();
            float[][] values = values(b);
            first.close();
            Optimizer second = make.get();
            List<Param> c = params(values);
            second.restore(saved, c);
            for (int k = 4; k < STEPS; k++) step(second, c, k, 1e-2);
            assertArrayEquals(values(a), values(c), straight.getClass().getSimpleName());
            assertEquals(straight.scalars(), second.scalars(), straight.getClass().getSimpleName());
            straight.close();
            second.close();
        }
    }

    @Test
    void loraPlusTrainsBAtRatioTimesTheLearningRate() {
        Optimizer plain = AdamW.Spec.defaults().build(0, 0, 1, STEPS), plus = AdamW.Spec.defaults().build(0, 0, 16, STEPS);
        Optimizer bFast = AdamW.Spec.defaults().build(0, 0, 1, STEPS);
        List<Param> p = params(init()), q = params(init()), r = params(init());
        step(plain, p, 0, 1e-3);
        step(plus, q, 0, 1e-3);
        step(bFast, r, 0, 16e-3);
        assertArrayEquals(p.get(0).toFloats(), q.get(0).toFloats(), "lora_A at lr");
        assertArrayEquals(r.get(1).toFloats(), q.get(1).toFloats(), "lora_B at lr × 16");
        assertThrows(IllegalArgumentException.class, () -> Prodigy.Spec.defaults().build(0, 0, 16, STEPS), "one global step size: no LoRA+");
    }

    @Test
    void optimizersAreNamedInOneTableAndRefuseStateOfAnother() {
        assertEquals(List.of("adamw", "sgd", "prodigy", "schedule-free", "dadapt-adam"), List.copyOf(OptimizerSpec.TABLE.keySet()));
        OptimizerSpec.TABLE.forEach((name, spec) -> assertEquals(name, spec.get().name()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OptimizerSpec.parse("adam"));
        assertTrue(e.getMessage().contains("prodigy") && e.getMessage().contains("schedule-free"), e.getMessage());
        Optimizer adam = AdamW.defaults();
        List<Param> ps = params(init());
        step(adam, ps, 0, 1e-3);
        Optimizer.State s = adam.state();
        Optimizer prodigy = Prodigy.Spec.defaults().build(0, 0, 1, STEPS);
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> prodigy.restore(s, ps));
        assertTrue(wrong.getMessage().contains("scalar 'd'") || wrong.getMessage().contains("buffers"), wrong.getMessage());
        adam.close();
        prodigy.close();
    }
}
