package dev.ffwd.fastforward;

import java.util.List;

/**
 * Fast Forward settings. Two named points: {@link #paper()}, the authors' loop (github AdirRahamim/Fast-Forward,
 * {@code main.py}), and {@link #defaults()}, ffwd's default, which walks the same line but never leaves θ worse
 * than before the stage and spends few validation passes when the line has little to give.
 *
 * @param mode       how a stage walks the line θ_t + τΔ
 * @param interval   optimizer steps between stages (the paper: 6)
 * @param span       optimizer steps that Δ spans: 1 is the paper's last step; 0 means the whole interval, whose mean
 *                   direction is less noisy at a large learning rate
 * @param guard      do no harm: a stage ends at θ_t unless a τ > 0 beat it; in {@link Mode#SEARCH} it must beat θ_t
 *                   clearly, example by example ({@link FastForward.Probe#clearlyBetterThan})
 * @param adaptive   stages that pay off come sooner, stages that find nothing come later
 * @param params     which trainable tensors Δ moves: the adapters only (the authors' {@code 'lora' in name}), or all
 *                   (a classification head too)
 * @param warmup     optimizer steps before the interval counting starts (the authors' burn-in)
 * @param maxRepeats the largest τ a stage may reach
 * @param lrRule     after each stage, scale the optimizer's learning rate by what the stage found about its step
 *                   size ({@link FastForward#nextLrScale}): off, by factors of 2 ({@code +lr}), or by 1 + τ ({@code +lrtau});
 *                   needs the guard, whose τ = 0 outcome is the signal to lower it
 * @param budget     do no harm in cost: a due stage runs only if its first screen keeps Fast Forward's probes
 *                   within what its stages have saved plus {@link #PROBE_BUDGET} of the training so far
 *                   ({@link FastForward.Spend}), else it is postponed by an interval; past that screen, the
 *                   guard's evidence decides, and what the stage spends beyond the budget delays the next ones
 */
public record FfConfig(boolean enabled, Mode mode, int interval, int span, boolean guard, boolean adaptive,
                       Params params, long warmup, int maxRepeats, LrRule lrRule, boolean budget) {

    /**
     * How a stage moves the optimizer's lr. {@code DOUBLE} ({@code +lr}): ×{@link #LR_FACTOR} when the best τ is at
     * least {@link #LR_GROW_TAU}, ÷ it when τ = 0. {@code TAU} ({@code +lrtau}), a continuous rule in the spirit of an
     * Armijo line search along the optimizer's direction: the best displacement from θ_{t−span} was (1 + τ)Δ, so the
     * lr is multiplied by 1 + τ (at most {@link #LR_TAU_MAX_FACTOR} per stage), and halved when τ = 0.
     */
    public enum LrRule { OFF, DOUBLE, TAU }

    /** The most one stage of the {@link LrRule#TAU} rule multiplies the lr by: one lucky τ on 32 examples must not blow it up. */
    public static final double LR_TAU_MAX_FACTOR = 8;

    /**
     * An adaptive interval's growth after a stage that found nothing at all (τ = 0: θ_t was the line's best, as at a
     * tuned learning rate), and its cap, in multiples of the configured interval. Such a stage is pure cost: two
     * validation passes of 32 examples cost about two optimizer steps of 16 sequences (a LoRA step's backward costs
     * about its forward). One fruitless stage therefore sends the next one 16 intervals away, so that FF at a
     * learning rate that needs no help costs about two steps per hundred.
     */
    public static final int REJECTED_BACKOFF = 16, BACKOFF_CAP = 64;

    /**
     * How clearly a point on the line must beat another to count ({@link FastForward.Probe#clearlyBetterThan}): the
     * mean per-example loss difference over the validation set must be below zero by this many standard errors, a
     * one-sided paired test at 95%. A stage makes up to log₂k + 3 such comparisons on the same 32 examples; without
     * the margin, a lower mean that is only noise moves θ off a well-tuned path and costs test loss.
     */
    public static final double SIGNIFICANCE_Z = 1.645;

    /**
     * The guard's first comparison of a stage (θ_t against θ_t + Δ) goes this many validation examples at a time and
     * stops as soon as those seen would not, extrapolated, make θ_t + Δ clearly better ({@code FastForward.Line#firstStepPromising}):
     * a stage at a tuned learning rate then mostly costs two passes over 8 examples instead of two over 32.
     */
    public static final int SCREEN_CHUNK = 8;

    /**
     * {@link #budget}: the share of the training's exact FLOPs that Fast Forward's probes may cost beyond what its
     * stages have saved. A stage's whole first comparison costs two passes over the validation set: with the default
     * 32 examples, 1/16 of an optimizer step of the paper's 512 sequences, but two steps of 16 sequences. Its first
     * screen ({@link #SCREEN_CHUNK} examples) costs a quarter of that, so with small batches the first stage waits
     * until the training has cost 50× a screen (step 25 at 16 sequences per step). Past the screen, the guard's
     * evidence decides whether the comparison goes on (the examples so far must promise a clear win), and what it
     * spends beyond the budget holds the next stages back until the training has paid for it. At a learning rate that
     * needs no help, stages that find nothing thus cost this share plus at most one whole comparison, and once a stage
     * has saved steps, the savings pay for the next ones.
     */
    public static final double PROBE_BUDGET = 0.02;

    /** Whether stages move the lr. */
    public boolean lrAdapt() {
        return lrRule != LrRule.OFF;
    }

    public static final int INTERVAL = 6;
    /** The tiny validation set's default size (the paper's); the data split holds it out of the test split. */
    public static final int VALIDATION_SIZE = 32;
    public static final int MAX_REPEATS = 1000;

    public enum Mode {
        /** The authors' loop: θ += Δ while the loss does not get worse; the worsening repeat stays applied. */
        PAPER,
        /** As PAPER, but the worsening repeat is undone (θ restored bit for bit). */
        REVERT,
        /** A line search over τ: double τ until the loss rises, then refine the bracket by parabolic interpolation. */
        SEARCH,
        /**
         * A diagnostic, not a speed-up: measures the validation loss at fixed points {@link #PROFILE_TAUS} of the line
         * and always leaves θ_t, so the run follows plain training while recording what each stage could have gained.
         */
        PROFILE
    }

    /**
     * {@link #lrAdapt}: a stage whose best τ is at least LR_GROW_TAU (the line kept falling at twice Δ: the optimizer's
     * steps are too short) multiplies the lr by LR_FACTOR; a stage in which no τ > 0 beat θ_t (the guard kept θ_t:
     * even one more step's worth made the tiny-validation loss worse, so the steps overshoot or are mostly noise)
     * divides it by LR_FACTOR. The multiplier stays within [1/LR_SCALE_BOUND, LR_SCALE_BOUND] of the configured lr.
     */
    public static final double LR_GROW_TAU = 2, LR_FACTOR = 2, LR_SCALE_BOUND = 64;

    /** Where {@link Mode#PROFILE} measures the line θ_t + τΔ: both sides of θ_t, out to four times Δ. */
    public static final List<Double> PROFILE_TAUS = List.of(-0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0);

    /** Which trainable tensors a stage moves. */
    public enum Params { LORA, ALL }

    /** The authors' protocol: Δ of the last step, every 6 steps, always accept the first repeat, LoRA tensors only. */
    public static FfConfig paper() {
        return new FfConfig(true, Mode.PAPER, INTERVAL, 1, false, false, Params.LORA, 0, MAX_REPEATS, LrRule.OFF, false);
    }

    /** ffwd's default: a guarded line search along the interval's mean direction, with an adaptive interval and the probe budget. */
    public static FfConfig defaults() {
        return new FfConfig(true, Mode.SEARCH, INTERVAL, 0, true, true, Params.LORA, 0, MAX_REPEATS, LrRule.OFF, true);
    }

    public static FfConfig off() {
        return defaults().withEnabled(false);
    }

    public FfConfig {
        if (lrRule == null) lrRule = LrRule.OFF;  // arms saved before the rule had a name
        if (mode == null || params == null) throw new IllegalArgumentException("FF mode and params must be set");
        if (interval < 1) throw new IllegalArgumentException("FF interval must be >= 1, got " + interval);
        if (span < 0) throw new IllegalArgumentException("FF span must be >= 0 (0 = the whole interval), got " + span);
        if (warmup < 0) throw new IllegalArgumentException("FF warm-up must be >= 0, got " + warmup);
        if (maxRepeats < 1) throw new IllegalArgumentException("FF max repeats must be >= 1, got " + maxRepeats);
        if (enabled && lrRule != LrRule.OFF && (!guard || mode == Mode.PROFILE))  // without θ_t's loss a stage can only ever raise the lr
            throw new IllegalArgumentException("FF +lr needs the guard and a mode that moves θ (e.g. ffwd+lr), got mode "
                    + mode.name().toLowerCase(java.util.Locale.ROOT) + (guard ? "" : " without the guard"));
    }

    /**
     * The named variants, each a starting point on top of a base config (which supplies interval, warm-up, max
     * repeats and params). The parser, its errors and the help text read this table.
     */
    public enum Variant {
        PAPER("the authors' loop: θ += Δ of the last step while the loss does not rise, the rising repeat kept; every interval",
                b -> b.withMode(Mode.PAPER).withSpan(1).withGuard(false).withAdaptive(false).withBudget(false)),
        REVERT("as paper, the rising repeat undone", b -> b.withMode(Mode.REVERT).withSpan(1).withGuard(false).withAdaptive(false).withBudget(false)),
        SEARCH("a doubling line search with one parabolic refinement",
                b -> b.withMode(Mode.SEARCH).withSpan(1).withGuard(false).withAdaptive(false).withBudget(false)),
        FFWD("ffwd's default: search along the interval's Δ, kept only if clearly better than θ_t, with an adaptive interval"
                + " and probes that cost at most what stages saved plus " + Math.round(100 * PROBE_BUDGET) + "% of training",
                b -> b.withMode(Mode.SEARCH).withSpan(0).withGuard(true).withAdaptive(true).withBudget(true)),
        PROFILE("a diagnostic that measures the line and never moves θ",
                b -> b.withMode(Mode.PROFILE).withSpan(0).withGuard(false).withAdaptive(false).withBudget(false));

        public final String help;
        private final java.util.function.UnaryOperator<FfConfig> from;

        Variant(String help, java.util.function.UnaryOperator<FfConfig> from) {
            this.help = help;
            this.from = from;
        }
    }

    /** What a {@code +x} / {@code -x} after a variant's name switches on or off. */
    public enum Modifier {
        GUARD("keep only a τ that beats θ_t", FfConfig::withGuard),
        SPAN("Δ over the whole interval, not the last step", (c, on) -> c.withSpan(on ? 0 : 1)),
        ADAPTIVE("stages that pay come sooner, fruitless ones later", FfConfig::withAdaptive),
        ALL("move every trainable tensor, a head too", (c, on) -> c.withParams(on ? Params.ALL : Params.LORA)),
        LORA("move the adapters only", (c, on) -> c.withParams(on ? Params.LORA : Params.ALL)),
        BUDGET("probes may cost what stages saved plus " + Math.round(100 * PROBE_BUDGET) + "% of training, no more", FfConfig::withBudget),
        // The lr rules' stages are the learning-rate search the user asked for: the budget would hold the first one back.
        LR("double or halve the lr by each stage's outcome (no probe budget unless +budget follows)",
                (c, on) -> c.withLrAdapt(on).withBudget(!on && c.budget())),
        LRTAU("scale the lr by 1 + τ of each stage (no probe budget unless +budget follows)",
                (c, on) -> c.withLrRule(on ? LrRule.TAU : LrRule.OFF).withBudget(!on && c.budget()));

        public final String help;
        private final java.util.function.BiFunction<FfConfig, Boolean, FfConfig> apply;

        Modifier(String help, java.util.function.BiFunction<FfConfig, Boolean, FfConfig> apply) {
            this.help = help;
            this.apply = apply;
        }
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The variants and modifiers, for errors: "paper | revert | ...; modifiers +/-guard, ...". */
    public static String choices() {
        return java.util.Arrays.stream(Variant.values()).map(FfConfig::lower).collect(java.util.stream.Collectors.joining(" | "))
                + "; modifiers " + java.util.Arrays.stream(Modifier.values()).map(m -> "+/-" + lower(m)).collect(java.util.stream.Collectors.joining(", "));
    }

    /** As {@link #choices()}, each with what it does, for help texts. */
    public static String described() {
        return java.util.Arrays.stream(Variant.values()).map(v -> lower(v) + " (" + v.help + ")").collect(java.util.stream.Collectors.joining("; "))
                + ". Modifiers: " + java.util.Arrays.stream(Modifier.values()).map(m -> "+/-" + lower(m) + " (" + m.help + ")")
                .collect(java.util.stream.Collectors.joining("; "));
    }

    /**
     * A variant by name ({@link Variant}), on top of {@code base}, then modifiers ({@link Modifier}) that switch one
     * piece on ({@code +x}) or off ({@code -x}). Examples: {@code ffwd-guard}, {@code search+span}, {@code paper+guard},
     * {@code ffwd+lr}. The result is validated once all modifiers are applied.
     */
    public static FfConfig parse(String spec, FfConfig base) {
        String[] parts = spec.trim().toLowerCase(java.util.Locale.ROOT).split("(?=[+-])");
        Variant v = java.util.Arrays.stream(Variant.values()).filter(x -> lower(x).equals(parts[0])).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown Fast Forward variant '" + spec + "': expected " + choices()));
        FfConfig c = v.from.apply(base.withEnabled(false));  // validated as a whole at the end, not after each modifier
        for (int i = 1; i < parts.length; i++) {
            String part = parts[i];
            Modifier m = java.util.Arrays.stream(Modifier.values()).filter(x -> lower(x).equals(part.substring(1))).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown Fast Forward modifier '" + part + "' in '" + spec
                            + "': expected " + choices()));
            c = m.apply.apply(c, part.charAt(0) == '+');
        }
        return c.withEnabled(true);
    }

    /** Steps Δ spans for a given (possibly adapted) interval. */
    public int spanFor(int currentInterval) {
        return span == 0 ? currentInterval : Math.min(span, currentInterval);
    }

    public FfConfig withEnabled(boolean v) { return new FfConfig(v, mode, interval, span, guard, adaptive, params, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withMode(Mode v) { return new FfConfig(enabled, v, interval, span, guard, adaptive, params, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withInterval(int v) { return new FfConfig(enabled, mode, v, span, guard, adaptive, params, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withSpan(int v) { return new FfConfig(enabled, mode, interval, v, guard, adaptive, params, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withGuard(boolean v) { return new FfConfig(enabled, mode, interval, span, v, adaptive, params, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withAdaptive(boolean v) { return new FfConfig(enabled, mode, interval, span, guard, v, params, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withParams(Params v) { return new FfConfig(enabled, mode, interval, span, guard, adaptive, v, warmup, maxRepeats, lrRule, budget); }
    public FfConfig withWarmup(long v) { return new FfConfig(enabled, mode, interval, span, guard, adaptive, params, v, maxRepeats, lrRule, budget); }
    public FfConfig withMaxRepeats(int v) { return new FfConfig(enabled, mode, interval, span, guard, adaptive, params, warmup, v, lrRule, budget); }
    public FfConfig withLrRule(LrRule v) { return new FfConfig(enabled, mode, interval, span, guard, adaptive, params, warmup, maxRepeats, v, budget); }
    public FfConfig withBudget(boolean v) { return new FfConfig(enabled, mode, interval, span, guard, adaptive, params, warmup, maxRepeats, lrRule, v); }
    public FfConfig withLrAdapt(boolean v) { return withLrRule(v ? LrRule.DOUBLE : LrRule.OFF); }
}
