package dev.ffwd.fastforward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.ffwd.optim.Param;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * The Fast Forward stage controller (Rahamim et al., 2024). Between stages, call {@link #beforeStep} before
 * each optimizer step and {@link #afterStep} after it; when a stage is due, {@code afterStep} moves θ along
 * Δ = θ_t − θ_{t−1} while a tiny validation loss improves. Only parameter values change: the optimizer's
 * moments and step count are never touched.
 */
public final class FastForward {

    /** What one stage did. {@code tau}: the multiple of Δ finally added to θ_t. */
    public record Stage(long step, double tau, int evaluations, List<Double> losses, boolean hitNonFinite) {}

    private static final double GOLDEN = (Math.sqrt(5) - 1) / 2;

    private final FfConfig cfg;
    private int interval;
    private long nextStage;
    private List<float[]> before;  // θ_{t−1}, captured just before the step that completes an interval

    public FastForward(FfConfig cfg) {
        this.cfg = cfg;
        this.interval = cfg.interval();
        this.nextStage = cfg.interval();
    }

    /** Call before optimizer step number {@code stepsDone + 1}. */
    public void beforeStep(long stepsDone, List<Param> params) {
        before = cfg.enabled() && stepsDone + 1 == nextStage ? snapshot(params) : null;
    }

    /** Call after an optimizer step; runs a stage when one is due. Returns it, or null. */
    public Stage afterStep(long stepsDone, List<Param> params, DoubleSupplier validationLoss) {
        if (before == null || stepsDone != nextStage) return null;
        List<float[]> prev = before;
        before = null;
        try (NDScope ignored = new NDScope()) {
            List<NDArray> delta = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i).value();
                delta.add(p.sub(p.getManager().create(prev.get(i), p.getShape())));  // Δ = θ_t − θ_{t−1}
            }
            Stage s = new Line(params, delta, validationLoss, stepsDone).run();
            adapt(s);
            nextStage = stepsDone + interval;
            return s;
        }
    }

    /** Adaptive interval: stages that keep paying off come sooner, stages that find nothing come later. */
    private void adapt(Stage s) {
        if (!cfg.adaptive()) return;
        if (s.tau() >= interval) interval = Math.max(1, interval / 2);
        else if (s.tau() <= 1) interval = Math.min(4 * cfg.interval(), interval * 2);
    }

    public int interval() {
        return interval;
    }

    public long nextStage() {
        return nextStage;
    }

    /** Restores the schedule of stages from a checkpoint. */
    public void resume(long nextStage, int interval) {
        this.nextStage = nextStage;
        this.interval = interval;
    }

    static List<float[]> snapshot(List<Param> params) {
        return params.stream().map(Param::toFloats).toList();
    }

    static void restore(List<Param> params, List<float[]> values) {
        for (int i = 0; i < params.size(); i++) params.get(i).value().set(values.get(i));
    }

    /** The search along θ_t + τΔ for one stage. θ is always left at a τ that was evaluated (or restored). */
    private final class Line {
        final List<Param> params;
        final List<NDArray> delta;
        final DoubleSupplier loss;
        final long step;
        final List<float[]> origin;    // θ_t
        final List<Double> losses = new ArrayList<>();
        double tau;                    // current offset of θ from θ_t, in units of Δ
        double bestTau, bestLoss = Double.POSITIVE_INFINITY;
        boolean nonFinite;

        Line(List<Param> params, List<NDArray> delta, DoubleSupplier loss, long step) {
            this.params = params;
            this.delta = delta;
            this.loss = loss;
            this.step = step;
            this.origin = cfg.mode() == FfConfig.Mode.SEARCH ? snapshot(params) : null;
        }

        Stage run() {
            switch (cfg.mode()) {
                case PAPER, REVERT -> repeat(cfg.mode() == FfConfig.Mode.REVERT);
                case SEARCH -> search();
            }
            return new Stage(step, tau, losses.size(), List.copyOf(losses), nonFinite);
        }

        /** θ += Δ until the loss is strictly worse than the previous one (the first repeat is always taken). */
        private void repeat(boolean revert) {
            double prev = Double.POSITIVE_INFINITY;
            while (tau < cfg.maxRepeats()) {
                List<float[]> last = snapshot(params);
                for (int i = 0; i < params.size(); i++) params.get(i).value().addi(delta.get(i));
                tau++;
                double l = evaluate();
                if (!Double.isFinite(l)) {  // restore the last θ with a finite loss
                    restore(params, last);
                    tau--;
                    nonFinite = true;
                    return;
                }
                if (l > prev) {
                    if (revert) {
                        restore(params, last);
                        tau--;
                    }
                    return;
                }
                prev = l;
            }
        }

        /**
         * Bracket by doubling (τ = 1, 2, 4, ... until the loss rises), then golden-section search inside
         * [τ/2, 2τ] with 5 more evaluations; finally θ = θ_t + τ*Δ for the best τ evaluated.
         * About log2(k) + 7 validation passes instead of the paper's k + 1 (15 instead of 277 at k = 276).
         */
        private void search() {
            double prevTau = 0, prevLoss = Double.POSITIVE_INFINITY;
            for (double t = 1; ; t *= 2) {
                double l = at(t);
                if (!Double.isFinite(l) || l > prevLoss || 2 * t > cfg.maxRepeats()) break;
                prevLoss = l;
                prevTau = t;
            }
            if (bestTau >= 2 && !nonFinite && bestTau == prevTau) {  // the minimum lies in [τ/2, 2τ]: refine
                double a = bestTau / 2, b = Math.min(2 * bestTau, cfg.maxRepeats());
                double c = b - GOLDEN * (b - a), d = a + GOLDEN * (b - a), lc = at(c), ld = at(d);
                for (int i = 0; i < 3 && !nonFinite; i++) {  // each round shrinks the bracket by φ, one evaluation
                    if (lc < ld) { b = d; d = c; ld = lc; c = b - GOLDEN * (b - a); lc = at(c); }
                    else { a = c; c = d; lc = ld; d = a + GOLDEN * (b - a); ld = at(d); }
                }
            }
            moveTo(bestTau);
        }

        /** Evaluates θ_t + tΔ and remembers the best τ seen. */
        private double at(double t) {
            moveTo(t);
            double l = evaluate();
            if (!Double.isFinite(l)) nonFinite = true;
            else if (l < bestLoss) {
                bestLoss = l;
                bestTau = t;
            }
            return l;
        }

        /** θ = θ_t + τΔ, computed from θ_t (no drift from repeated additions). */
        private void moveTo(double t) {
            restore(params, origin);
            if (t != 0) for (int i = 0; i < params.size(); i++) params.get(i).value().addi(delta.get(i).mul((float) t));
            tau = t;
        }

        private double evaluate() {
            double l = loss.getAsDouble();
            losses.add(l);
            return l;
        }
    }
}
