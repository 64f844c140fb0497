package dev.ffwd.train;

import dev.ffwd.fastforward.FfConfig;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The grid's bookkeeping on hand-made curves: which baseline is tuned, and what each saving is measured against. */
class ComparisonTest {

    /** A run whose evaluation i is at step 10·i, costs (i+1)·flopsPerPoint and has test loss losses[i]. */
    static Comparison.Arm arm(String name, String lr, FfConfig ff, TrainingRun.Stop stop, double flopsPerPoint, double... losses) {
        History h = new History();
        double[] wall = new double[losses.length];
        for (int i = 0; i < losses.length; i++) {
            h.points.add(new History.Point(10L * i, (i + 1) * flopsPerPoint, (i + 1) * flopsPerPoint / 2, i + 1.0, losses[i], Double.NaN));
            wall[i] = i + 1.0;
        }
        return new Comparison.Arm(name, lr, ff, stop, null, 10L * (losses.length - 1), h, List.of(wall));
    }

    @Test
    void theTunedBaselineHasTheLowestBestLossAndDivergedOnesCountOnlyWhatTheyFinished() {
        Comparison.Arm slow = arm("baseline@1e-4", "1e-4", null, TrainingRun.Stop.MAX_STEPS, 1, 1.0, 0.8, 0.6);
        Comparison.Arm good = arm("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 1, 1.0, 0.5, 0.3, 0.35);
        Comparison.Arm diverged = new Comparison.Arm("baseline@1e-2", "1e-2", null, TrainingRun.Stop.DIVERGED, "NaN",
                5, arm("x", "1e-2", null, TrainingRun.Stop.DIVERGED, 1, 1.0, 0.25).history(), List.of(new double[]{1, 2}));
        assertSame(diverged, Comparison.tuned(List.of(slow, good, diverged)), "0.25 before diverging is the grid's best");
        assertSame(good, Comparison.tuned(List.of(slow, good)));
        Comparison.Arm none = new Comparison.Arm("baseline@1", "1", null, TrainingRun.Stop.DIVERGED, "NaN", 0, new History(), List.of());
        assertThrows(dev.ffwd.FfwdException.class, () -> Comparison.tuned(List.of(none)));
    }

    @Test
    void savingsAreAgainstTheSameLrTheTunedBaselineAndTheWholeGrid() {
        Map<String, Comparison.Arm> baselines = new LinkedHashMap<>();
        baselines.put("1e-4", arm("baseline@1e-4", "1e-4", null, TrainingRun.Stop.MAX_STEPS, 10, 1.0, 0.8, 0.6, 0.5));
        baselines.put("1e-3", arm("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 10, 1.0, 0.5, 0.3, 0.35));
        // FF at 1e-4 reaches the same-lr target (0.5) at its 2nd point and the tuned target (0.3) at its 3rd
        Comparison.Arm ff = arm("ff-ffwd@1e-4", "1e-4", FfConfig.defaults(), TrainingRun.Stop.TARGET_REACHED, 10, 1.0, 0.45, 0.3);
        Comparison.Arm slowFf = arm("ff-paper@1e-4", "1e-4", FfConfig.paper(), TrainingRun.Stop.PLATEAU, 10, 1.0, 0.7, 0.55);
        Comparison.Result r = new Comparison.Result("1e-4", baselines, List.of(ff, slowFf), "1e-3", 0.3);

        Comparison.Saving same = r.vsSameLr(ff);  // baseline@1e-4 reaches 0.5 at its 4th point: 40 paper FLOPs; FF 20
        assertTrue(same.reached());
        assertEquals(50, same.flopsPaperPercent(), 1e-9);
        assertEquals(50, same.flopsExactPercent(), 1e-9);
        assertEquals(50, same.wallPercent(), 1e-9);
        Comparison.Saving tuned = r.vsTuned(ff);  // baseline@1e-3 reaches 0.3 at its 3rd point: 30; FF also 30
        assertTrue(tuned.reached());
        assertEquals(0, tuned.flopsPaperPercent(), 1e-9);
        Comparison.Saving grid = r.vsGrid(ff);    // the grid ran 40 + 40 paper FLOPs
        assertEquals(100 * (1 - 30.0 / 80), grid.flopsPaperPercent(), 1e-9);

        assertFalse(r.vsSameLr(slowFf).reached(), "0.55 never reaches the same-lr target 0.5");
        assertTrue(Double.isNaN(r.vsSameLr(slowFf).flopsExactPercent()), "no saving is claimed for an arm that never got there");
        assertFalse(r.vsTuned(slowFf).reached());
        Comparison.Arm atTuned = arm("ff-ffwd@1e-3", "1e-3", FfConfig.defaults(), TrainingRun.Stop.TARGET_REACHED, 10, 1.0, 0.3);
        assertNull(r.vsGrid(atTuned), "an arm at the tuned lr needed the grid; no saving against it is claimed");
    }

    @Test
    void noSavingIsClaimedWhenNoBaselineImprovedOnThetaZero() {
        Map<String, Comparison.Arm> baselines = new LinkedHashMap<>();
        baselines.put("1e-4", arm("baseline@1e-4", "1e-4", null, TrainingRun.Stop.PLATEAU, 10, 0.69, 0.70, 0.71));
        Comparison.Arm ff = arm("ff-ffwd@1e-4", "1e-4", FfConfig.defaults(), TrainingRun.Stop.TARGET_REACHED, 10, 0.69, 0.68);
        Comparison.Result r = new Comparison.Result("1e-4", baselines, List.of(ff), "1e-4", 0.69);
        assertFalse(r.vsSameLr(ff).reached(), "the target is θ₀'s own loss: nothing to save, and no 0/0");
        assertFalse(r.vsTuned(ff).reached());
    }

    @Test
    void wallTimeIsTheMedianAndMinimumOverRepeats() {
        Comparison.Arm a = arm("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 1, 1.0, 0.5);
        Comparison.Arm repeated = new Comparison.Arm(a.name(), a.lr(), null, a.stop(), null, a.steps(), a.history(),
                List.of(new double[]{1, 4}, new double[]{1, 2}, new double[]{1, 9}));
        Comparison.Cost c = repeated.costAt(0.5);
        assertEquals(4, c.wallMedian());
        assertEquals(2, c.wallMin());
    }

    @Test
    void thePlanAlwaysTrainsTheSameLrBaselineAndRejectsBadLearningRates() {
        Comparison.Plan p = new Comparison.Plan("2e-4", List.of("1e-4", "1e-3"), List.of("lr", "tuned"), Map.of(), 3, 1, null, false);
        assertEquals(List.of("2e-4", "1e-4", "1e-3"), p.grid());
        assertThrows(IllegalArgumentException.class,
                () -> new Comparison.Plan("1e-4", List.of("fast"), List.of("lr"), Map.of(), 3, 1, null, false));
        assertThrows(IllegalArgumentException.class,
                () -> new Comparison.Plan("-1", List.of("1e-4"), List.of("lr"), Map.of(), 3, 1, null, false));
    }
}
