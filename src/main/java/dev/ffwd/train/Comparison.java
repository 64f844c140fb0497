package dev.ffwd.train;

import dev.ffwd.fastforward.FfConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The paper's experiment: plain LoRA + AdamW until the test loss stops improving (or the step budget), whose
 * best test loss becomes the target; then, from the same θ₀, seed and data order, each Fast Forward mode until it
 * reaches that target. Cost is counted up to the evaluation at which each arm first reaches the target.
 */
public final class Comparison {

    /** One arm's outcome; cost fields are at the target point (or at the end if the target was never reached). */
    public record Arm(String name, FfConfig ff, TrainingRun.Stop stop, long steps, long stepsToTarget, int ffStages,
                      double ffRepeats, int ffEvaluations, double flopsPaper, double flopsExact, double wallSeconds,
                      double finalTestLoss, double bestTestLoss, boolean reachedTarget, History history) {}

    public record Result(double target, List<Arm> arms) {
        public Arm baseline() {
            return arms.get(0);
        }
    }

    public interface Listener extends TrainingRun.Listener {
        default void onArmStart(String name, FfConfig ff) {}
        default void onArmEnd(Arm arm) {}
    }

    private Comparison() {}

    public static Result run(FineTune ft, FfConfig ff, List<FfConfig.Mode> modes, int patience, Listener listener) {
        List<Arm> arms = new ArrayList<>();
        listener.onArmStart("baseline", FfConfig.off());
        TrainingRun base = ft.newRun(FfConfig.off(), null);
        TrainingRun.Stop stop = base.run(TrainingRun.StopRule.plateau(patience), listener);
        double target = base.history().bestTestLoss();
        arms.add(arm("baseline", FfConfig.off(), stop, base, target));
        listener.onArmEnd(arms.get(0));
        for (FfConfig.Mode m : modes) {
            FfConfig cfg = ff.withMode(m);
            String name = "ff-" + m.name().toLowerCase();
            listener.onArmStart(name, cfg);
            TrainingRun run = ft.newRun(cfg, null);
            arms.add(arm(name, cfg, run.run(TrainingRun.StopRule.reach(target), listener), run, target));
            listener.onArmEnd(arms.get(arms.size() - 1));
        }
        return new Result(target, arms);
    }

    private static Arm arm(String name, FfConfig ff, TrainingRun.Stop stop, TrainingRun run, double target) {
        History h = run.history();
        History.Point at = h.firstAtOrBelow(target);
        History.Point end = h.points.get(h.points.size() - 1);
        History.Point cost = at != null ? at : end;
        List<History.StageAt> stages = h.stages.stream().filter(s -> s.stage().step() <= cost.step()).toList();
        return new Arm(name, ff, stop, run.trainer().steps(), cost.step(), stages.size(),
                stages.stream().mapToDouble(s -> s.stage().tau()).sum(),
                stages.stream().mapToInt(s -> s.stage().evaluations()).sum(),
                cost.flopsPaper(), cost.flopsExact(), cost.wallSeconds(), end.testLoss(), h.bestTestLoss(), at != null, h);
    }
}
