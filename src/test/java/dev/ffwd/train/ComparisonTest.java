package dev.ffwd.train;

import dev.ffwd.fastforward.FfConfig;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The grid's bookkeeping on hand-made curves: which baseline is tuned, and what each saving is measured against. */
class ComparisonTest {

    /**
     * A run that holds each level of {@code levels} for {@link History#WINDOW} evaluations, so that its smoothed test
     * loss reaches each level exactly at the level's last evaluation. Evaluation i is at step 10·i, costs
     * (i+1)·flopsPerPoint and has test accuracy 1 − loss/2 (any value that differs between levels shows which evaluation
     * a figure was read at). Costs and savings come out as with one evaluation per level, times the window.
     */
    static Comparison.Arm arm(String name, String lr, FfConfig ff, TrainingRun.Stop stop, double flopsPerPoint, double... levels) {
        double[] losses = new double[levels.length * History.WINDOW];
        for (int i = 0; i < losses.length; i++) losses[i] = levels[i / History.WINDOW];
        return raw(name, lr, ff, stop, flopsPerPoint, losses);
    }

    /** A run with test loss losses[i] at evaluation i (step 10·i, cost (i+1)·flopsPerPoint). */
    static Comparison.Arm raw(String name, String lr, FfConfig ff, TrainingRun.Stop stop, double flopsPerPoint, double... losses) {
        History h = new History();
        double[] wall = new double[losses.length];
        for (int i = 0; i < losses.length; i++) {
            h.points.add(new History.Point(10L * i, (i + 1) * flopsPerPoint, (i + 1) * flopsPerPoint / 2, i + 1.0, losses[i], Double.NaN,
                    accuracy(losses[i]), accuracy(losses[i]) / 2));
            wall[i] = i + 1.0;
        }
        String variant = ff == null ? Comparison.Arm.OFF : name.substring("ff-".length(), name.indexOf('@'));
        return new Comparison.Arm(name, variant, lr, ff, stop, null, 10L * (losses.length - 1), h, List.of(wall));
    }

    @Test
    void theTargetIsTheBestSmoothedLossAndAMethodReachesItsThresholdOnItsOwnSmoothedLoss() {
        // one lucky evaluation (0.2) is not a level: the smoothed minimum is (0.4 + 0.2 + 0.45)/3 = 0.35
        Comparison.Arm tuned = raw("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 1, 1.0, 0.5, 0.4, 0.2, 0.45, 0.5);
        assertEquals(0.35, tuned.bestSmoothed(), 1e-12);
        assertEquals(0.2, tuned.bestTestLoss(), 0);
        // a method that gets to 0.35·1.01 as a 3-evaluation mean at its 5th evaluation ((0.34 + 0.36 + 0.35)/3)
        Comparison.Arm m = raw("prodigy", "1.0", null, TrainingRun.Stop.TARGET_REACHED, 1, 1.0, 0.5, 0.34, 0.36, 0.35);
        Comparison.Result r = new Comparison.Result("1e-3", Map.of("1e-3", tuned), List.of(), Map.of("prodigy", m), "1e-3", tuned.bestSmoothed(), "AdamW");
        assertEquals(0.35 * Comparison.SLACK, r.threshold(), 1e-12);
        assertEquals(40, m.costAt(r.threshold()).step());
        assertEquals(40, tuned.costAt(r.threshold()).step());
        assertEquals(1.0, r.ratioVsTuned(m), 1e-12, "both got there at their 5th evaluation");
        assertEquals(5.0 / 6, r.ratioVsGrid(m), 1e-12, "the grid (one run of 6 evaluations) cost 6 units");
        Comparison.Arm never = raw("schedule-free", "0.0025", null, TrainingRun.Stop.PLATEAU, 1, 1.0, 0.2, 0.9, 0.9);
        assertNull(r.ratioVsTuned(never), "one evaluation under the threshold is not a smoothed loss under it");
        assertNull(r.ratioVsGrid(never));
        Comparison.Result sgd = new Comparison.Result("1e-3", Map.of("1e-3", tuned), List.of(), Map.of("prodigy", m), "1e-3", tuned.bestSmoothed(), "SGD");
        String md = dev.ffwd.report.ComparisonReport.markdown(sgd);
        assertTrue(md.contains("over plain SGD LoRA") && md.contains("× tuned SGD") && md.contains("| SGD at the tuned lr"), md);
        assertFalse(md.contains("AdamW"), "the report names the grid's optimizer, not always AdamW");
    }

    @Test
    void theTunedBaselineHasTheLowestBestLossAndDivergedOnesCountOnlyWhatTheyFinished() {
        Comparison.Arm slow = arm("baseline@1e-4", "1e-4", null, TrainingRun.Stop.MAX_STEPS, 1, 1.0, 0.8, 0.6);
        Comparison.Arm good = arm("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 1, 1.0, 0.5, 0.3, 0.35);
        Comparison.Arm diverged = new Comparison.Arm("baseline@1e-2", Comparison.Arm.OFF, "1e-2", null, TrainingRun.Stop.DIVERGED, "NaN",
                5, arm("x", "1e-2", null, TrainingRun.Stop.DIVERGED, 1, 1.0, 0.25).history(), List.of(new double[]{1, 2}));
        assertSame(diverged, Comparison.tuned(List.of(slow, good, diverged)), "0.25 before diverging is the grid's best");
        assertSame(good, Comparison.tuned(List.of(slow, good)));
        Comparison.Arm none = new Comparison.Arm("baseline@1", Comparison.Arm.OFF, "1", null, TrainingRun.Stop.DIVERGED, "NaN", 0, new History(), List.of());
        assertThrows(dev.ffwd.FfwdException.class, () -> Comparison.tuned(List.of(none)));
    }

    /** Baselines at 1e-4 (still improving when cut: best 0.5 at its 4th point) and 1e-3 (tuned: 0.3 at its 3rd). */
    static Map<String, Comparison.Arm> grid() {
        Map<String, Comparison.Arm> baselines = new LinkedHashMap<>();
        baselines.put("1e-4", arm("baseline@1e-4", "1e-4", null, TrainingRun.Stop.MAX_STEPS, 10, 1.0, 0.8, 0.6, 0.5));
        baselines.put("1e-3", arm("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 10, 1.0, 0.5, 0.3, 0.35));
        return baselines;
    }

    @Test
    void savingsAreAgainstTheSameLrTheTunedBaselineAndTheWholeGrid() {
        Map<String, Comparison.Arm> baselines = grid();
        // FF at 1e-4 reaches the same-lr target (0.5) at its 2nd point and the tuned target (0.3) at its 3rd
        Comparison.Arm ff = arm("ff-ffwd@1e-4", "1e-4", FfConfig.defaults(), TrainingRun.Stop.TARGET_REACHED, 10, 1.0, 0.45, 0.3);
        Comparison.Arm slowFf = arm("ff-paper@1e-4", "1e-4", FfConfig.paper(), TrainingRun.Stop.PLATEAU, 10, 1.0, 0.7, 0.55);
        Comparison.Result r = new Comparison.Result("1e-4", baselines, List.of(ff, slowFf), Map.of(), "1e-3", 0.3, "AdamW");

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

    static double accuracy(double loss) {
        return 1 - loss / 2;
    }

    @Test
    void accuracyIsReadWhereEachRunFirstReachedTheTarget() {
        Map<String, Comparison.Arm> baselines = grid();
        Comparison.Arm ff = arm("ff-ffwd@1e-4", "1e-4", FfConfig.defaults(), TrainingRun.Stop.TARGET_REACHED, 10, 1.0, 0.45, 0.28);
        Comparison.Result r = new Comparison.Result("1e-4", baselines, List.of(ff), Map.of(), "1e-3", 0.3, "AdamW");
        Comparison.Saving same = r.vsSameLr(ff);   // target 0.5: FF first at or below it at 0.45, the baseline at 0.5
        assertEquals(accuracy(0.45), same.accuracy(), 0);
        assertEquals(accuracy(0.5), same.referenceAccuracy(), 0);
        Comparison.Saving tuned = r.vsTuned(ff);   // target 0.3: FF at 0.28, the tuned baseline at 0.3
        assertEquals(accuracy(0.28), tuned.accuracy(), 0);
        assertEquals(accuracy(0.3), tuned.referenceAccuracy(), 0);
        assertEquals(accuracy(0.3), r.vsGrid(ff).referenceAccuracy(), 0, "against the grid, the reference is where the tuned lr got");
        assertNull(r.vsSameLr(arm("ff-paper@1e-4", "1e-4", FfConfig.paper(), TrainingRun.Stop.PLATEAU, 10, 1.0, 0.7)).accuracy(),
                "no accuracy is claimed at a target that was not reached");
        assertEquals(accuracy(0.28), ff.history().bestAccuracy(), 0, "the highest over the evaluations");
        assertEquals(accuracy(0.35), baselines.get("1e-3").total().accuracy(), 0, "the final evaluation's");

        var json = dev.ffwd.report.ComparisonReport.json(r, new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode());
        var base = json.path("baselines").path("1e-3");
        assertEquals(ai.djl.engine.Engine.getDjlVersion(), json.path("versions").path("djl").asText(), "read from the build");
        assertTrue(json.path("versions").path("libtorch").asText().matches("\\d+\\.\\d+\\.\\d+.*"), json.path("versions").toString());
        assertEquals(accuracy(0.3), base.path("best_test_accuracy").asDouble(), 0);
        assertEquals(accuracy(0.3), base.path("test_accuracy_at_best_loss").asDouble(), 0);
        assertEquals(accuracy(0.3) / 2, base.path("macro_f1_at_best_loss").asDouble(), 0);
        assertEquals(accuracy(0.35), base.path("final_test_accuracy").asDouble(), 0);
        assertEquals(accuracy(0.3), base.path("cost_to_best").path("test_accuracy").asDouble(), 0);
        assertEquals(accuracy(0.5), base.path("curve").get(History.WINDOW).path("test_accuracy").asDouble(), 0);
        assertEquals(accuracy(0.3), json.path("tuned").path("test_accuracy_at_target").asDouble(), 0);
        assertEquals(accuracy(0.28), json.path("savings_vs_tuned").path(ff.name()).path("test_accuracy").asDouble(), 0);
        assertEquals(accuracy(0.3), json.path("savings_vs_tuned").path(ff.name()).path("reference_test_accuracy").asDouble(), 0);
        String md = dev.ffwd.report.ComparisonReport.markdown(r);
        assertTrue(md.contains("| 1e-3 (tuned) | 0.3000 | 85.0% |"), md);
        assertTrue(md.contains("| ff-ffwd@1e-4 | 86.0% / 86.0% |"), md);
        assertTrue(md.contains("with test accuracy 85.0%") && md.contains("accuracy_vs_flops.png"), md);
    }

    @Test
    void aLanguageModelReportHasNoAccuracy() {
        History h = new History();
        h.points.add(new History.Point(0, 1, 1, 1, 2.0, Double.NaN, null, null));
        h.points.add(new History.Point(10, 2, 2, 2, 1.5, 1.7, null, null));
        h.points.add(new History.Point(20, 3, 3, 3, 1.0, 1.2, null, null));
        Comparison.Arm b = new Comparison.Arm("baseline@1e-3", Comparison.Arm.OFF, "1e-3", null, TrainingRun.Stop.MAX_STEPS, null, 20, h, List.of(new double[]{1, 2, 3}));
        Comparison.Result r = new Comparison.Result("1e-3", Map.of("1e-3", b), List.of(), Map.of(), "1e-3", 1.5, "AdamW");
        var json = dev.ffwd.report.ComparisonReport.json(r, new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode());
        assertFalse(json.path("baselines").path("1e-3").has("best_test_accuracy"));
        assertFalse(json.path("tuned").has("test_accuracy_at_target"));
        assertFalse(dev.ffwd.report.ComparisonReport.markdown(r).contains("accuracy"));
    }

    @Test
    void noSavingIsClaimedWhenNoBaselineImprovedOnThetaZero() {
        Map<String, Comparison.Arm> baselines = new LinkedHashMap<>();
        baselines.put("1e-4", arm("baseline@1e-4", "1e-4", null, TrainingRun.Stop.PLATEAU, 10, 0.69, 0.70, 0.71));
        Comparison.Arm ff = arm("ff-ffwd@1e-4", "1e-4", FfConfig.defaults(), TrainingRun.Stop.TARGET_REACHED, 10, 0.69, 0.68);
        Comparison.Result r = new Comparison.Result("1e-4", baselines, List.of(ff), Map.of(), "1e-4", 0.69, "AdamW");
        assertFalse(r.vsSameLr(ff).reached(), "the target is θ₀'s own loss: nothing to save, and no 0/0");
        assertFalse(r.vsTuned(ff).reached());
    }

    @Test
    void wallTimeIsTheMedianAndMinimumOverRepeats() {
        Comparison.Arm a = raw("baseline@1e-3", "1e-3", null, TrainingRun.Stop.PLATEAU, 1, 1.0, 0.5, 0.3);
        Comparison.Arm repeated = new Comparison.Arm(a.name(), a.variant(), a.lr(), null, a.stop(), null, a.steps(), a.history(),
                List.of(new double[]{1, 1, 4}, new double[]{1, 1, 2}, new double[]{1, 1, 9}));
        Comparison.Cost c = repeated.costAt(0.6);
        assertEquals(4, c.wallMedian());
        assertEquals(2, c.wallMin());
    }

    @Test
    void thePlanAlwaysTrainsTheSameLrBaselineAndRejectsBadLearningRates() {
        Comparison.Plan p = new Comparison.Plan("2e-4", List.of("1e-4", "1e-3"), List.of("lr", "tuned"), Map.of(), Map.of(), 0, 3, 1, null, false);
        assertEquals(List.of("2e-4", "1e-4", "1e-3"), p.grid());
        assertThrows(IllegalArgumentException.class,
                () -> new Comparison.Plan("1e-4", List.of("fast"), List.of("lr"), Map.of(), Map.of(), 0, 3, 1, null, false));
        assertThrows(IllegalArgumentException.class,
                () -> new Comparison.Plan("-1", List.of("1e-4"), List.of("lr"), Map.of(), Map.of(), 0, 3, 1, null, false));
        assertThrows(IllegalArgumentException.class, () -> Comparison.Plan.builder("1e-4").reseeds(-1).build());
    }
}
