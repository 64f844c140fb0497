package dev.ffwd.train;

import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.optim.AdamW;
import dev.ffwd.optim.OptimizerSpec;

import java.util.List;
import java.util.Locale;

/**
 * A way to train that needs no learning-rate sweep: an optimizer started from its own default learning rate,
 * optionally with Fast Forward. Written {@code OPTIMIZER[@LR][+FF-VARIANT]} ({@code prodigy}, {@code schedule-free},
 * {@code prodigy+ffwd}, {@code adamw@1e-4+ffwd+lr}); a bare Fast Forward variant ({@code ffwd+lr}) runs on AdamW
 * from {@link #FF_START_LR}. {@link #DEFAULT} is what {@code train} runs when no learning rate is given.
 */
public record Method(String name, OptimizerSpec optimizer, double lr, FfConfig ff) {

    /**
     * The tuning-free default, chosen by measurement: the method with the lowest median exact-FLOP ratio to the tuned
     * AdamW run among those that reached its loss in at least 90% of the task × seed cases (the suite report's
     * {@code best_method}). Schedule-Free AdamW at twice its published learning rate, chosen on two seeds of the quick
     * suite (docs/schedule-free-lr.md). With three seeds (docs/results.md) it reached the tuned loss in 14 of 15 cases
     * at a median 0.80× the tuned run's FLOPs, where the published 2.5e-3 reached it in 15 of 15 at 1.30×. Against a
     * tuned loss the grid may take 200 steps to reach (docs/plateau.md) it reached it in 11 of 15 cases: short of 90%,
     * but no method measured reached it more often (Fast Forward on top of it reached the same 11, for more FLOPs), and
     * AdamW at the tuned lr re-run on a fresh seed reached it as often (11 of 15). Not a Fast Forward method: Fast
     * Forward stays one flag away ({@code --ff}).
     */
    public static final String DEFAULT = "schedule-free@5e-3";

    /**
     * The methods {@code suite} measures unless told otherwise: the default, the anchors, FF as a step-size finder and FF
     * on top of the default. {@code ffwd+lr} (doubling the lr after a stage) is no longer among them: on the quick suite
     * of f1b0ed7 it reached the tuned loss in 2 of 15 cases, where {@code ffwd+lrtau} reached it in 9 (docs/results.md
     * in git history); {@code --methods} still runs it.
     */
    public static final List<String> MEASURED = List.copyOf(new java.util.LinkedHashSet<>(
            List.of(DEFAULT, "prodigy", "schedule-free", "ffwd+lrtau", DEFAULT + "+ffwd")));

    /** What {@code compare} measures by default: the default and the two anchors, Prodigy and Schedule-Free AdamW. */
    public static List<String> compared() {
        java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>(List.of(DEFAULT, "prodigy", "schedule-free"));
        return List.copyOf(names);
    }

    /** Where FF's lr multiplier (+lr) starts AdamW when no lr is given: the bottom of the usual LoRA range, which ×64 (its bound) covers. */
    public static final double FF_START_LR = 1e-4;

    public Method {
        if (name == null || optimizer == null || ff == null) throw new IllegalArgumentException("method name, optimizer and FF settings must be set");
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("method '" + name + "': learning rate must be positive, got " + lr);
    }

    /** The method {@code spec} names, with FF variants built on {@code ffBase} (interval, warm-up, max repeats). */
    public static Method parse(String spec, FfConfig ffBase) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        String opt = OptimizerSpec.TABLE.keySet().stream().filter(n -> s.equals(n) || s.startsWith(n + "@") || s.startsWith(n + "+"))
                .max(java.util.Comparator.comparingInt(String::length)).orElse(null);
        if (opt == null) {  // a Fast Forward variant alone: AdamW from FF_START_LR
            try {
                return new Method(s, AdamW.Spec.defaults(), FF_START_LR, FfConfig.parse(s, ffBase));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown method '" + spec + "': expected OPTIMIZER[@LR][+FF-VARIANT] with an optimizer of "
                        + String.join(", ", OptimizerSpec.TABLE.keySet()) + ", or a Fast Forward variant (" + e.getMessage() + ")");
            }
        }
        OptimizerSpec o = OptimizerSpec.parse(opt);
        String rest = s.substring(opt.length());
        double lr = o.defaultLr();
        if (rest.startsWith("@")) {
            int plus = rest.indexOf('+');
            String lrText = plus < 0 ? rest.substring(1) : rest.substring(1, plus);
            lr = Comparison.parseLr(lrText);
            rest = plus < 0 ? "" : rest.substring(plus);
        }
        FfConfig ff = rest.isEmpty() ? FfConfig.off() : FfConfig.parse(rest.substring(1), ffBase);
        return new Method(s, o, lr, ff);
    }

    /** {@code base} with this method's optimizer and learning rate. */
    public TrainConfig apply(TrainConfig base) {
        return base.toBuilder().optimizer(optimizer).lr(lr).build();
    }
}
