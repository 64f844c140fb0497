package dev.ffwd.report;

import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.History;
import dev.ffwd.train.TrainingRun;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The line-profile table, on hand-made stages whose ratios are known. */
class ComparisonReportTest {

    static final FfConfig PROFILE = FfConfig.parse("profile", FfConfig.defaults());

    /** A stage whose loss at τ is {@code l0 · ratio(τ)}. */
    static History.StageAt stage(long step, double l0, java.util.function.DoubleUnaryOperator ratio) {
        List<Double> taus = FfConfig.PROFILE_TAUS;
        return new History.StageAt(new FastForward.Stage(step, 6, 0, taus, taus.stream().map(t -> l0 * ratio.applyAsDouble(t)).toList(), false),
                0, 0, 0);
    }

    static Comparison.Arm profileArm(String lr, History.StageAt... stages) {
        History h = new History();
        h.points.add(History.Point.of(0, 0, 0, 0, 1.0, Double.NaN));
        h.stages.addAll(List.of(stages));
        return Comparison.Arm.finished("ff-profile@" + lr, "profile", lr, PROFILE, TrainingRun.Stop.PLATEAU, 12, h);
    }

    @Test
    void lineProfileGivesMedianRatiosAndHowOftenTheLineHadSomethingToGive() {
        // at 1e-4 the line falls to τ = 2 and rises after; at 3e-3 θ_t is the line's minimum in two stages of three
        Comparison.Arm low = profileArm("1e-4", stage(6, 0.5, t -> 1 - 0.1 * t + 0.025 * t * t), stage(12, 0.4, t -> 1 - 0.1 * t + 0.025 * t * t));
        Comparison.Arm high = profileArm("3e-3", stage(6, 0.5, t -> 1 + t * t), stage(12, 0.3, t -> 1 + t * t),
                stage(18, 0.2, t -> t == 0.25 ? 0.9 : 1 + t * t));
        Map<String, Comparison.Arm> baselines = new LinkedHashMap<>();
        History h = new History();
        for (int i = 0; i < History.WINDOW; i++) h.points.add(History.Point.of(10L * i, i, i, i, 1.0 - 0.1 * i, Double.NaN));
        baselines.put("1e-4", Comparison.Arm.finished("baseline@1e-4", Comparison.Arm.OFF, "1e-4", null, TrainingRun.Stop.PLATEAU, 0, h));
        Comparison.Result r = new Comparison.Result("1e-4", baselines, List.of(low, high), Map.of(), "1e-4", 0.9, "AdamW");

        String table = ComparisonReport.lineProfileTable(r);
        List<String> rows = table.lines().filter(l -> l.startsWith("| 1e-4") || l.startsWith("| 3e-3")).toList();
        assertEquals(2, rows.size(), table);
        // columns: τ = -0.5, 0.25, 0.5, 1, 2, 4; ratio 1 - 0.1τ + 0.025τ² → 1.06, 0.98, 0.96, 0.93, 0.90, 1.00
        assertEquals("| 1e-4 | 2 | 1.06 | 0.98 | 0.96 | 0.93 | 0.90 | 1.00 | 2 of 2 | 2 |", rows.get(0));
        // ratio 1 + τ² → 1.25, 1.06 (median of 1.0625, 1.0625, 0.9), 1.25, 2, 5, 17; one stage of three below θ_t
        assertEquals("| 3e-3 | 3 | 1.25 | 1.06 | 1.25 | 2.00 | 5.00 | 17.00 | 1 of 3 | 0 |", rows.get(1));
        assertTrue(ComparisonReport.markdown(r).contains(table), "the report carries the table");
        assertEquals("", ComparisonReport.lineProfileTable(new Comparison.Result("1e-4", baselines, List.of(), Map.of(), "1e-4", 0.9, "AdamW")));
    }
}
