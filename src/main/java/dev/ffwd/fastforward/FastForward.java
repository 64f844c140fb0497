package dev.ffwd.fastforward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.ffwd.optim.Param;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The Fast Forward stage controller (Rahamim et al., 2024). Call {@link #beforeStep} before each optimizer step
 * and {@link #afterStep} after it; when a stage is due, {@code afterStep} moves θ along Δ = θ_t − θ_{t−span} while a
 * tiny validation loss improves. Only parameter values change: the optimizer's moments and step count are never
 * touched. The controller owns its schedule and its pending snapshot, and restores both from {@link #state()}.
 * With {@link FfConfig#lrAdapt()} it also owns a learning-rate multiplier that the training loop applies to the
 * optimizer's lr ({@link #lrScale()}); it too is part of the state.
 */
public final class FastForward {

    /**
     * What one stage did. {@code tau}: the multiple of Δ finally added to θ_t (0 when the guard restored θ_t);
     * {@code span}: the optimizer steps Δ covered, so τ·span is the number of steps' worth of progress taken;
     * {@code taus} and {@code losses}: each validation pass, in order, at θ_t + τΔ (the first two over the examples the
     * guard's first comparison used, all of them unless it stopped early). {@code lrScale}: with
     * {@link FfConfig#lrAdapt()}, the multiplier of the configured lr that the steps after this stage use; else null.
     */
    public record Stage(long step, int span, double tau, List<Double> taus, List<Double> losses, boolean hitNonFinite,
                        Double lrScale) {
        public Stage(long step, int span, double tau, List<Double> taus, List<Double> losses, boolean hitNonFinite) {
            this(step, span, tau, taus, losses, hitNonFinite, null);
        }

        public Stage {
            if (taus == null) taus = java.util.Collections.nCopies(losses.size(), Double.NaN);  // saved before τ was recorded
            if (taus.size() != losses.size()) throw new IllegalArgumentException("one τ per validation loss");
        }

        public int evaluations() {
            return losses.size();
        }

        public double stepsGained() {
            return tau * span;
        }
    }

    /**
     * One validation pass at some θ: the mean loss, each example's own summed loss ({@code items}, in the same order at
     * every θ) for the guard's paired comparison, and the weight of the mean ({@code count}: the tokens or examples it
     * averages), by which passes over consecutive parts of the validation set join ({@link #then}). A deterministic
     * loss is one item.
     */
    public record Probe(double loss, double[] items, double count) {
        public Probe {
            if (items == null || items.length == 0) throw new IllegalArgumentException("a probe needs at least one example's loss");
            if (!(count > 0)) throw new IllegalArgumentException("a probe's loss must average something, got count " + count);
        }

        /** A loss without per-example detail: compared by its value alone. */
        public static Probe of(double loss) {
            return new Probe(loss, new double[]{loss}, 1);
        }

        /** This pass followed by one over the next examples of the same set: as one pass over both parts. */
        public Probe then(Probe next) {
            double[] all = java.util.Arrays.copyOf(items, items.length + next.items.length);
            System.arraycopy(next.items, 0, all, items.length, next.items.length);
            return new Probe((loss * count + next.loss * next.count) / (count + next.count), all, count + next.count);
        }

        /**
         * Whether this θ is better than {@code other}'s on the same examples beyond the validation set's noise: the
         * mean per-example difference d is below zero by at least {@link FfConfig#SIGNIFICANCE_Z} standard errors
         * (a one-sided paired test). With one item, or identical differences, only the sign of d counts.
         */
        public boolean clearlyBetterThan(Probe other) {
            return z(other) <= -FfConfig.SIGNIFICANCE_Z;
        }

        /**
         * The paired z statistic of this θ's loss less {@code other}'s on the same examples: the mean difference over
         * its standard error; with one item, or identical differences, ±∞ by the sign of the mean (0 when equal).
         */
        double z(Probe other) {
            if (items.length != other.items.length) throw new IllegalArgumentException("probes of different validation sets");
            int n = items.length;
            double mean = 0, sq = 0;
            for (int i = 0; i < n; i++) mean += (items[i] - other.items[i]) / n;
            for (int i = 0; i < n; i++) sq += Math.pow(items[i] - other.items[i] - mean, 2);
            double se = n < 2 ? 0 : Math.sqrt(sq / (n - 1) / n);
            return se > 0 ? mean / se : mean < 0 ? Double.NEGATIVE_INFINITY : mean > 0 ? Double.POSITIVE_INFINITY : 0;
        }
    }

    /** The tiny validation set, evaluated at the current θ. */
    public interface Validation {
        /** How many examples it holds. */
        int size();

        /** The loss at the current θ over examples {@code from} (inclusive) to {@code to} (exclusive). */
        Probe over(int from, int to);

        /** A loss that cannot be split: one item, always evaluated whole (tests, diagnostics). */
        static Validation of(Supplier<Probe> loss) {
            return new Validation() {
                public int size() {
                    return 1;
                }

                public Probe over(int from, int to) {
                    return loss.get();
                }
            };
        }
    }

    /**
     * What the run has cost so far in exact FLOPs, for {@link FfConfig#budget}: the optimizer steps ({@code train}),
     * Fast Forward's probes ({@code probes}), and one pass over the whole validation set ({@code pass}; 0 when unknown,
     * and then the budget cannot hold a stage back).
     */
    public record Spend(double train, double probes, double pass) {
        /** Nothing known: stages run on their schedule alone. */
        public static final Spend UNKNOWN = new Spend(0, 0, 0);
    }

    /**
     * The schedule, the pending θ_{t−span} snapshot (null when none), the lr multiplier (1 without
     * {@link FfConfig#lrAdapt()}) and the optimizer steps' worth that accepted stages have gained (the budget's
     * credit), as a checkpoint stores them.
     */
    public record State(long nextStage, int interval, List<float[]> pending, double lrScale, double gained) {}

    private final FfConfig cfg;
    private int interval;
    private long nextStage;
    private List<float[]> before;  // θ_{t−span}, captured before the step that starts Δ's span
    private double lrScale = 1;    // the optimizer's lr over the configured one; moves only with lrAdapt
    private double gained;         // Σ stepsGained of the stages so far

    public FastForward(FfConfig cfg) {
        if (!cfg.enabled()) throw new IllegalArgumentException("Fast Forward is disabled in this configuration");
        this.cfg = cfg;
        this.interval = cfg.interval();
        this.nextStage = cfg.warmup() + cfg.interval();
    }

    /** The tensors a stage moves: the adapters only (the authors' {@code 'lora' in name}), or all trainable ones. */
    public List<Param> moved(List<Param> params) {
        return cfg.params() == FfConfig.Params.ALL ? params : params.stream().filter(p -> p.name().contains("lora_")).toList();
    }

    /** Call before optimizer step number {@code stepsDone + 1}. */
    public void beforeStep(long stepsDone, List<Param> params) {
        if (stepsDone + cfg.spanFor(interval) == nextStage) before = snapshot(moved(params));
    }

    /** {@link #afterStep(long, List, Validation, Spend)} with the costs unknown: the budget holds nothing back. */
    public Stage afterStep(long stepsDone, List<Param> params, Validation validation) {
        return afterStep(stepsDone, params, validation, Spend.UNKNOWN);
    }

    /**
     * Call after an optimizer step; runs a stage when one is due and, with {@link FfConfig#budget}, affordable after
     * {@code spent}: else the stage is postponed by the interval. Returns the stage run, or null.
     */
    public Stage afterStep(long stepsDone, List<Param> params, Validation validation, Spend spent) {
        if (stepsDone != nextStage) return null;
        List<float[]> prev = before;
        before = null;
        if (room(stepsDone, spent) < firstComparisonCost(spent.pass(), validation.size())) {
            nextStage = stepsDone + interval;
            return null;
        }
        int span = cfg.spanFor(interval);
        if (prev == null) throw new IllegalStateException("FF stage at step " + stepsDone + " without its snapshot of step " + (stepsDone - span));
        List<Param> moved = moved(params);
        try (NDScope ignored = new NDScope()) {
            List<NDArray> delta = new ArrayList<>();
            for (int i = 0; i < moved.size(); i++) {
                NDArray p = moved.get(i).value();
                delta.add(p.sub(p.getManager().create(prev.get(i), p.getShape())));  // Δ = θ_t − θ_{t−span}
            }
            Stage s = new Line(moved, delta, validation, stepsDone, span).run();
            gained += s.stepsGained();
            adapt(s);
            if (cfg.lrAdapt()) {
                lrScale = nextLrScale(lrScale, s, cfg.lrRule());
                s = new Stage(s.step(), s.span(), s.tau(), s.taus(), s.losses(), s.hitNonFinite(), lrScale);
            }
            nextStage = stepsDone + interval;
            return s;
        }
    }

    /**
     * {@link FfConfig#budget}: the exact FLOPs that probes may still cost: {@link FfConfig#PROBE_BUDGET} of the training,
     * plus the steps' worth that stages have gained priced at the mean step so far, less what probes have cost.
     * Unlimited without the budget, or when the costs are unknown.
     */
    private double room(long stepsDone, Spend spent) {
        if (!cfg.budget() || spent.pass() == 0) return Double.POSITIVE_INFINITY;
        return FfConfig.PROBE_BUDGET * spent.train() + gained * spent.train() / stepsDone - spent.probes();
    }

    /**
     * What the budget must allow before a stage starts: the guard's first screen, θ_t against θ_t + Δ on
     * {@link FfConfig#SCREEN_CHUNK} examples, where the stage screens ({@code Line#firstStepPromising}); else its first
     * whole comparison, two passes over the validation set of {@code size} examples costing {@code pass} each.
     */
    private double firstComparisonCost(double pass, int size) {
        boolean screens = cfg.mode() == FfConfig.Mode.SEARCH && cfg.guard();
        return 2 * pass * (screens ? (double) Math.min(FfConfig.SCREEN_CHUNK, size) / size : 1);
    }

    /**
     * Adaptive interval, a back-off: a stage that found nothing (τ = 0) multiplies the interval by
     * {@link FfConfig#REJECTED_BACKOFF} (up to {@link FfConfig#BACKOFF_CAP}× the configured one), so that at a learning
     * rate that needs no help stages soon cost almost nothing; one that gained at most one step's worth doubles it (up
     * to 4×, never lowering it); one that gained at least the interval's worth brings it back to the configured one.
     * It never goes below the configured interval, whose Δ would be noisier.
     */
    private void adapt(Stage s) {
        if (!cfg.adaptive()) return;
        if (s.tau() == 0) interval = Math.min(FfConfig.BACKOFF_CAP * cfg.interval(), interval * FfConfig.REJECTED_BACKOFF);
        else if (s.stepsGained() <= 1) interval = Math.max(interval, Math.min(4 * cfg.interval(), interval * 2));
        else if (s.stepsGained() >= interval) interval = cfg.interval();
    }

    /**
     * The lr multiplier after a stage ({@link FfConfig#lrAdapt()}). The stage measured the line θ_t + τΔ, Δ being
     * what the optimizer's last steps did: a best τ ≥ {@link FfConfig#LR_GROW_TAU} says those steps were too short
     * (going twice as far was better), so the lr grows by {@link FfConfig#LR_FACTOR}; τ = 0 (the guard kept θ_t: no
     * τ > 0, not even the refined one, beat it) says they overshoot or are mostly noise, so it shrinks by as much;
     * anything in between leaves it. Discrete factors of 2 rather than τ itself, because τ comes from a 32-example
     * validation set: one wrong move is undone by one opposite stage, and the bounds
     * [1/{@link FfConfig#LR_SCALE_BOUND}, {@link FfConfig#LR_SCALE_BOUND}] keep a run of noisy stages from
     * driving the lr to 0 or to divergence. Adam's moments are not touched: only the lr of later steps changes.
     */
    public static double nextLrScale(double scale, Stage s, FfConfig.LrRule rule) {
        double f = switch (rule) {
            case OFF -> 1;
            case DOUBLE -> s.tau() >= FfConfig.LR_GROW_TAU ? FfConfig.LR_FACTOR : s.tau() == 0 ? 1 / FfConfig.LR_FACTOR : 1;
            case TAU -> s.tau() == 0 ? 1 / FfConfig.LR_FACTOR : Math.min(1 + s.tau(), FfConfig.LR_TAU_MAX_FACTOR);
        };
        return Math.max(1 / FfConfig.LR_SCALE_BOUND, Math.min(FfConfig.LR_SCALE_BOUND, scale * f));
    }

    /** What the training loop multiplies the configured (scheduled) lr by: 1 unless {@link FfConfig#lrAdapt()}. */
    public double lrScale() {
        return lrScale;
    }

    public FfConfig config() {
        return cfg;
    }

    public int interval() {
        return interval;
    }

    public long nextStage() {
        return nextStage;
    }

    public State state() {
        return new State(nextStage, interval, before, lrScale, gained);
    }

    /** Restores the schedule, pending snapshot and lr multiplier of {@link #state()}. */
    public void restore(State s) {
        if (!(s.lrScale() > 0)) throw new IllegalArgumentException("FF lr multiplier must be positive, got " + s.lrScale());
        this.nextStage = s.nextStage();
        this.interval = s.interval();
        this.before = s.pending();
        this.lrScale = s.lrScale();
        this.gained = s.gained();
    }

    static List<float[]> snapshot(List<Param> params) {
        return params.stream().map(Param::toFloats).toList();
    }

    static void restore(List<Param> params, List<float[]> values) {
        for (int i = 0; i < params.size(); i++) params.get(i).set(values.get(i));
    }

    /** The walk along θ_t + τΔ for one stage. θ is always left at a τ that was evaluated with a finite loss (or at θ_t). */
    private final class Line {
        final List<Param> params;
        final List<NDArray> delta;
        final Validation validation;
        final long step;
        final int span;
        final List<float[]> origin;                            // θ_t
        final List<Double> taus = new ArrayList<>(), losses = new ArrayList<>();
        final TreeMap<Double, Probe> seen = new TreeMap<>();   // τ → its finite probe, each τ evaluated once
        double tau;                                            // θ's current offset from θ_t, in units of Δ
        boolean nonFinite;

        Line(List<Param> params, List<NDArray> delta, Validation validation, long step, int span) {
            this.params = params;
            this.delta = delta;
            this.validation = validation;
            this.step = step;
            this.span = span;
            this.origin = snapshot(params);
        }

        Stage run() {
            switch (cfg.mode()) {
                case PAPER, REVERT -> {
                    Probe before = cfg.guard() ? at(0) : null;  // the guard's reference: θ_t itself
                    if (!nonFinite) repeat(cfg.mode() == FfConfig.Mode.REVERT, before == null ? Double.POSITIVE_INFINITY : before.loss());
                }
                case SEARCH -> {
                    if (!cfg.guard()) search(null);
                    else if (firstStepPromising()) search(seen.get(0.0));
                }
                case PROFILE -> profile();
            }
            return new Stage(step, span, tau, List.copyOf(taus), List.copyOf(losses), nonFinite);
        }

        /**
         * The guard's first comparison, θ_t against θ_t + Δ, made {@link FfConfig#SCREEN_CHUNK} examples at a time: as
         * soon as the examples so far, extrapolated to the whole set, would not make θ_t + Δ clearly better (their paired
         * z is above −{@link FfConfig#SIGNIFICANCE_Z}·√(k/n) after k of n examples: less than even odds of passing the
         * final test if the trend held), the stage stops there and θ_t stays. At a learning rate that needs no help this
         * is the usual outcome, and it costs a fraction of two whole validation passes, which is most of what Fast
         * Forward costs there; where the lr is too small, θ_t + Δ wins on nearly every example and the screen passes.
         * The stop only ever adds rejections: θ_t + Δ is still taken only if it is clearly better on all examples
         * ({@link Probe#clearlyBetterThan}). When it returns true, {@code seen} holds both whole probes.
         * <p>
         * Under {@link FfConfig#budget} a stage starts once the budget pays for its first screen; past it, this same
         * evidence decides whether the comparison goes on, and what it then spends beyond the budget holds the next
         * stages back until the training has paid for it.
         */
        private boolean firstStepPromising() {
            Probe here = null, there = null;
            int n = validation.size();
            for (int from = 0; from < n; from += FfConfig.SCREEN_CHUNK) {
                int to = Math.min(n, from + FfConfig.SCREEN_CHUNK);
                moveTo(0);
                Probe a = validation.over(from, to);
                here = here == null ? a : here.then(a);
                moveTo(1);
                Probe b = validation.over(from, to);
                there = there == null ? b : there.then(b);
                if (!Double.isFinite(here.loss()) || !Double.isFinite(there.loss())) break;
                // futile: the trend so far, were the remaining examples to follow it, would not make θ_t + Δ clearly better
                if (to < n && there.z(here) > -FfConfig.SIGNIFICANCE_Z * Math.sqrt((double) to / n)) break;
            }
            record(0, here);
            record(1, there);
            boolean promising = !nonFinite && here.items().length == n;
            if (!promising) moveTo(0);
            return promising;
        }

        /**
         * θ += Δ until the loss is strictly worse than the previous one. Without the guard the first repeat is
         * always taken, as in the authors' loop; with it, the first repeat must not be worse than θ_t. REVERT undoes
         * the worsening repeat (θ restored bit for bit); PAPER keeps it unless it is worse than θ_t under the guard.
         * Losses are compared by their means, as the authors do.
         */
        private void repeat(boolean revert, double before) {
            double prev = before;
            while (tau < cfg.maxRepeats()) {
                List<float[]> last = tau == 0 ? origin : snapshot(params);
                for (int i = 0; i < params.size(); i++) params.get(i).value().addi(delta.get(i));  // the authors' θ += Δ
                tau++;
                double l = evaluate(tau).loss();
                boolean worse = l > prev;
                if (!Double.isFinite(l) || worse && (revert || l > before)) {
                    restore(params, last);
                    tau--;
                }
                if (!Double.isFinite(l) || worse) return;
                prev = l;
            }
        }

        /**
         * Bracket by doubling (τ = 1, 2, 4, ..., up to maxRepeats) while each τ is clearly better than the one before
         * ({@link Probe#clearlyBetterThan}: with 32 examples a lower mean alone is often noise), then one parabolic
         * interpolation step through the best τ and its two neighbours. θ ends at the best τ evaluated; under the
         * guard, only a τ clearly better than θ_t itself may be kept, so at a learning rate that needs no help the
         * stage leaves θ_t as it was instead of following the noise of the tiny validation set.
         * About log₂k + 3 validation passes instead of the paper loop's k + 1.
         */
        private void search(Probe before) {
            Probe prev = before;
            for (double t = 1; ; t = Math.min(2 * t, cfg.maxRepeats())) {
                Probe p = at(t);
                if (nonFinite || prev != null && !p.clearlyBetterThan(prev) || t >= cfg.maxRepeats()) break;
                prev = p;
            }
            if (!nonFinite && best(null) > 0) refine(best(null));
            moveTo(best(before));
        }

        /** Measures the line at fixed τ and leaves θ_t as it was: what a stage could have gained here. */
        private void profile() {
            for (double t : FfConfig.PROFILE_TAUS) if (!nonFinite) at(t);
            moveTo(0);
        }

        /** The τ of lowest mean loss evaluated, among those clearly better than {@code reference} when one is given (θ_t: 0). */
        private double best(Probe reference) {
            return seen.entrySet().stream()
                    .filter(e -> reference == null || e.getValue().clearlyBetterThan(reference))
                    .min(java.util.Comparator.comparingDouble(e -> e.getValue().loss()))
                    .map(java.util.Map.Entry::getKey).orElse(0.0);
        }

        /** One parabolic step through τ = b and its evaluated neighbours, when they bracket a minimum. */
        private void refine(double b) {
            Double a = seen.lowerKey(b), c = seen.higherKey(b);
            if (a == null || c == null) return;
            double fa = seen.get(a).loss(), fb = seen.get(b).loss(), fc = seen.get(c).loss();
            double p = (b - a) * (fb - fc), q = (b - c) * (fb - fa);
            double denom = 2 * (p - q);
            if (denom == 0) return;
            double v = b - ((b - a) * p - (b - c) * q) / denom;  // vertex of the parabola through the three points
            if (v > a && v < c && Math.abs(v - b) > 1e-3 * (c - a)) at(v);
        }

        /** Evaluates θ_t + tΔ (once per τ). */
        private Probe at(double t) {
            Probe known = seen.get(t);
            if (known != null) return known;
            moveTo(t);
            return evaluate(t);
        }

        /** θ = θ_t + τΔ, computed from θ_t (no drift from repeated additions). */
        private void moveTo(double t) {
            if (t == tau) return;
            restore(params, origin);
            if (t != 0) for (int i = 0; i < params.size(); i++) params.get(i).value().addi(delta.get(i).mul((float) t));
            tau = t;
        }

        private Probe evaluate(double t) {
            return record(t, validation.over(0, validation.size()));
        }

        /** Records a pass at τ = t; a whole one that is finite is kept for the search. */
        private Probe record(double t, Probe p) {
            taus.add(t);
            losses.add(p.loss());
            if (!Double.isFinite(p.loss())) nonFinite = true;
            else if (p.items().length == validation.size()) seen.put(t, p);
            return p;
        }
    }
}
