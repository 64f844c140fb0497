package dev.ffwd.optim;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An optimizer's name, its own settings with their published defaults, the learning rate it is meant to run at when
 * the user gives none, and the settings a checkpoint records. Each optimizer class holds its spec as a nested record;
 * {@link #TABLE} is the one list of them (the CLI's {@code --optimizer} and its help read it).
 */
public interface OptimizerSpec extends java.io.Serializable {

    /** The CLI name. */
    String name();

    /** The name reports use ("Schedule-Free AdamW"). */
    String title();

    /** The learning rate of the optimizer's published defaults (for Prodigy and D-Adaptation, a multiplier of d). */
    double defaultLr();

    /** Whether the per-tensor learning-rate scaling of LoRA+ applies (one global step size rules it out). */
    default boolean supportsLoraPlus() {
        return false;
    }

    /**
     * A fresh optimizer. The settings every optimizer shares come from the training configuration; {@code maxSteps}
     * sizes a warm-up given as a share of the run.
     */
    Optimizer build(double weightDecay, double clipNorm, double loraPlusRatio, long maxSteps);

    /** This optimizer's own settings, as a checkpoint records them (a resume under others is refused). */
    Map<String, String> settings();

    /** Name → the spec with published defaults. */
    Map<String, Supplier<OptimizerSpec>> TABLE = table();

    private static Map<String, Supplier<OptimizerSpec>> table() {
        Map<String, Supplier<OptimizerSpec>> t = new LinkedHashMap<>();
        t.put(AdamW.Spec.NAME, AdamW.Spec::defaults);
        t.put(Sgd.Spec.NAME, Sgd.Spec::defaults);
        t.put(Prodigy.Spec.NAME, Prodigy.Spec::defaults);
        t.put(ScheduleFree.Spec.NAME, ScheduleFree.Spec::defaults);
        t.put(DAdaptAdam.Spec.NAME, DAdaptAdam.Spec::defaults);
        return java.util.Collections.unmodifiableMap(t);
    }

    /** The spec named {@code name} with its published defaults; an unknown name lists the known ones. */
    static OptimizerSpec parse(String name) {
        Supplier<OptimizerSpec> s = TABLE.get(name.trim().toLowerCase(Locale.ROOT));
        if (s == null) throw new IllegalArgumentException("unknown optimizer '" + name + "'; expected one of " + String.join(", ", TABLE.keySet()));
        return s.get();
    }

    /** For settings maps: a double as Java writes it (round-trips exactly). */
    static String str(double v) {
        return Double.toString(v);
    }
}
