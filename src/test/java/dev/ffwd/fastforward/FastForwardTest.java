package dev.ffwd.fastforward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.*;

/** Stage mechanics on a one-parameter quadratic whose minimum along Δ is known. */
class FastForwardTest {

    NDManager m;
    Param theta;
    final List<Double> evaluated = new ArrayList<>();

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        theta = new Param("theta", m.create(new float[]{0f, 0f}));
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** loss(θ) = (θ₀ − c)² + (θ₁ − c)², recording each θ₀ it is evaluated at. */
    DoubleSupplier quadratic(double c) {
        return () -> {
            float[] v = theta.value().toFloatArray();
            evaluated.add((double) v[0]);
            return Math.pow(v[0] - c, 2) + Math.pow(v[1] - c, 2);
        };
    }

    /** One "optimizer step" of Δ = (0.25, 0.25) from θ = (1, 1), then the stage. */
    FastForward.Stage stageAfterStep(FfConfig cfg, DoubleSupplier loss) {
        FastForward ff = new FastForward(cfg);
        theta.value().set(new float[]{1f, 1f});
        for (long s = 0; s < cfg.interval(); s++) {
            ff.beforeStep(s, List.of(theta));
            if (s == cfg.interval() - 1) theta.value().addi(0.25f);
            FastForward.Stage st = ff.afterStep(s + 1, List.of(theta), loss);
            if (st != null) return st;
        }
        throw new AssertionError("no stage ran");
    }

    @Test
    void paperModeRepeatsUntilFirstWorseLossAndKeepsIt() {
        // θ after the step is 1.25; minimum at 2.0: repeats give 1.5, 1.75, 2.0, 2.25 (worse) -> stop, keep 2.25
        FastForward.Stage s = stageAfterStep(new FfConfig(true, 3, 32, 100, FfConfig.Mode.PAPER, false), quadratic(2.0));
        assertEquals(4, s.tau());
        assertEquals(4, s.evaluations());
        assertEquals(List.of(1.5, 1.75, 2.0, 2.25), evaluated);
        assertArrayEquals(new float[]{2.25f, 2.25f}, theta.value().toFloatArray());
    }

    @Test
    void revertModeUndoesTheWorseStepBitForBit() {
        FastForward.Stage s = stageAfterStep(new FfConfig(true, 3, 32, 100, FfConfig.Mode.REVERT, false), quadratic(2.0));
        assertEquals(3, s.tau());
        assertArrayEquals(new float[]{2.0f, 2.0f}, theta.value().toFloatArray());
    }

    @Test
    void firstRepeatIsAlwaysAcceptedInPaperMode() {
        // minimum at 1.3: the first repeat (1.5) is already worse than θ_t, but the authors' loop accepts it
        FastForward.Stage s = stageAfterStep(new FfConfig(true, 2, 32, 100, FfConfig.Mode.PAPER, false), quadratic(1.3));
        assertEquals(2, s.tau());  // 1.5 accepted, 1.75 worse -> stop (kept)
        assertEquals(List.of(1.5, 1.75), evaluated);
    }

    @Test
    void maxRepeatsCapsTheStage() {
        FastForward.Stage s = stageAfterStep(new FfConfig(true, 1, 32, 3, FfConfig.Mode.PAPER, false), quadratic(100));
        assertEquals(3, s.tau());
        assertArrayEquals(new float[]{2.0f, 2.0f}, theta.value().toFloatArray());
    }

    @Test
    void searchFindsTheMinimumWithFewerEvaluations() {
        // minimum at τ = 30 (θ = 1.25 + 30·0.25 = 8.75); the paper loop would need 31 evaluations
        FastForward.Stage s = stageAfterStep(new FfConfig(true, 1, 32, 1000, FfConfig.Mode.SEARCH, false), quadratic(8.75));
        assertTrue(s.evaluations() <= 12, "evaluations " + s.evaluations());
        assertEquals(30, s.tau(), 4.0);
        float got = theta.value().toFloatArray()[0];
        assertEquals(1.25 + 0.25 * s.tau(), got, 1e-5);
        double best = evaluated.stream().mapToDouble(x -> Math.abs(x - 8.75)).min().orElseThrow();
        assertEquals(best, Math.abs(got - 8.75), 1e-5, "θ is left at the best τ evaluated");
    }

    @Test
    void nonFiniteValidationLossRestoresLastGoodTheta() {
        DoubleSupplier nanAfterTwo = () -> evaluated.size() < 2 ? quadratic(10).getAsDouble() : recordNaN();
        FastForward.Stage s = stageAfterStep(new FfConfig(true, 1, 32, 100, FfConfig.Mode.PAPER, false), nanAfterTwo);
        assertTrue(s.hitNonFinite());
        assertEquals(2, s.tau());
        assertArrayEquals(new float[]{1.75f, 1.75f}, theta.value().toFloatArray());
    }

    private double recordNaN() {
        evaluated.add(Double.NaN);
        return Double.NaN;
    }

    @Test
    void adaptiveIntervalShrinksAfterLongStagesAndGrowsAfterFruitlessOnes() {
        FfConfig cfg = new FfConfig(true, 4, 32, 100, FfConfig.Mode.REVERT, true);
        FastForward ff = new FastForward(cfg);
        theta.value().set(new float[]{1f, 1f});
        long step = 0;
        for (double target : new double[]{100, 0}) {  // far minimum: long stage; minimum behind θ: nothing gained
            long due = ff.nextStage();
            for (; step < due; step++) {
                ff.beforeStep(step, List.of(theta));
                theta.value().addi(0.25f);
                ff.afterStep(step + 1, List.of(theta), quadratic(target));
            }
            if (target == 100) assertEquals(2, ff.interval(), "a stage of >= interval repeats halves the interval");
            else assertEquals(4, ff.interval(), "a stage that gained nothing doubles it again");
        }
    }

    @Test
    void stagesComeEveryIntervalAndOnlyWhenEnabled() {
        FastForward off = new FastForward(new FfConfig(false, 2, 32, 10, FfConfig.Mode.PAPER, false));
        FastForward on = new FastForward(new FfConfig(true, 2, 32, 10, FfConfig.Mode.PAPER, false));
        List<Long> stagesAt = new ArrayList<>();
        for (long s = 0; s < 7; s++) {
            off.beforeStep(s, List.of(theta));
            on.beforeStep(s, List.of(theta));
            theta.value().addi(0.1f);
            assertNull(off.afterStep(s + 1, List.of(theta), quadratic(0)));
            if (on.afterStep(s + 1, List.of(theta), quadratic(0)) != null) stagesAt.add(s + 1);
        }
        assertEquals(List.of(2L, 4L, 6L), stagesAt);
    }
}
