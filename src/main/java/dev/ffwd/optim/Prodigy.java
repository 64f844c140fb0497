package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prodigy (Mishchenko & Defazio, 2023): Adam whose step size d is estimated on the fly from how far the parameters
 * have moved against the gradients, so the learning rate stays 1. Transcribed from the authors' reference
 * (github konstmish/prodigy, {@code prodigyopt/prodigy.py}), one parameter group, no slicing ({@code slice_p} 1).
 * Its global scalars (d, d_max, the numerator, the step k) are part of the checkpoint.
 */
public final class Prodigy extends Optimizer {

    /** The reference's constructor defaults; β3 = √β2 when null. */
    public record Spec(double beta1, double beta2, Double beta3, double eps, boolean decouple, boolean useBiasCorrection,
                       boolean safeguardWarmup, double d0, double dCoef, double growthRate) implements OptimizerSpec {
        public static final String NAME = "prodigy";
        /** How reports name it. */
        public static final String TITLE = "Prodigy";
        public static final double LR = 1.0, D0 = 1e-6, D_COEF = 1.0, EPS = 1e-8;

        public Spec {
            if (!(d0 > 0)) throw new IllegalArgumentException("Prodigy d0 must be positive, got " + d0);
            if (!(eps > 0)) throw new IllegalArgumentException("Prodigy epsilon must be positive, got " + eps);
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("Prodigy betas must be in [0, 1)");
            if (!(dCoef > 0) || !(growthRate > 1 || growthRate == 1)) throw new IllegalArgumentException("Prodigy d_coef must be positive and growth_rate >= 1");
        }

        public static Spec defaults() {
            return new Spec(0.9, 0.999, null, EPS, true, false, false, D0, D_COEF, Double.POSITIVE_INFINITY);
        }

        public Spec withOptions(boolean useBiasCorrection, boolean safeguardWarmup) {
            return new Spec(beta1, beta2, beta3, eps, decouple, useBiasCorrection, safeguardWarmup, d0, dCoef, growthRate);
        }

        double b3() {
            return beta3 == null ? Math.sqrt(beta2) : beta3;
        }

        @Override public String name() { return NAME; }

        @Override public String title() { return TITLE; }
        @Override public double defaultLr() { return LR; }

        @Override
        public Optimizer build(double weightDecay, double clipNorm, double loraPlusRatio, long maxSteps) {
            if (loraPlusRatio != 1) throw new IllegalArgumentException("LoRA+ needs one lr per tensor group; Prodigy estimates one step size for all");
            return new Prodigy(this, weightDecay, clipNorm);
        }

        @Override
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("betas", beta1 + "," + beta2 + "," + b3());
            m.put("eps", OptimizerSpec.str(eps));
            m.put("decouple", Boolean.toString(decouple));
            m.put("use_bias_correction", Boolean.toString(useBiasCorrection));
            m.put("safeguard_warmup", Boolean.toString(safeguardWarmup));
            m.put("d0", OptimizerSpec.str(d0));
            m.put("d_coef", OptimizerSpec.str(dCoef));
            m.put("growth_rate", OptimizerSpec.str(growthRate));
            return m;
        }
    }

    private final Spec spec;
    private double d, dMax, dNumerator, dHat;
    private long k;

    public Prodigy(Spec spec, double weightDecay, double clipNorm) {
        super(weightDecay, clipNorm, 1);
        this.spec = spec;
        this.d = spec.d0();
        this.dMax = spec.d0();
        this.dHat = spec.d0();
    }

    @Override
    protected NDArray[] newState(NDArray like) {
        return new NDArray[]{zerosLike(like), zerosLike(like), zerosLike(like), owned(like.duplicate())};  // exp_avg, exp_avg_sq, s, p0
    }

    @Override
    protected void apply(List<Param> params, NDArray[] grads, double lr) {
        double b1 = spec.beta1(), b2 = spec.beta2(), b3 = spec.b3(), d0 = spec.d0();
        double bias = spec.useBiasCorrection() ? Math.sqrt(1 - Math.pow(b2, k + 1)) / (1 - Math.pow(b1, k + 1)) : 1;
        double dlr = d * lr * bias;
        double numerator = dNumerator * b3, deltaNumerator = 0, dDenom = 0;
        // First pass: the moments, the s sequence and the sums that estimate d, all at the current d.
        for (int i = 0; i < grads.length; i++) {
            NDArray w = params.get(i).value(), g = grads[i];
            NDArray[] st = buffers(params.get(i));
            NDArray expAvg = st[0], expAvgSq = st[1], s = st[2], p0 = st[3];
            if (weightDecay != 0 && !spec.decouple()) g = g.add(w.mul((float) weightDecay));  // coupled (L2) decay
            deltaNumerator += (d / d0) * dlr * g.mul(p0.sub(w)).sum().getFloat();          // ⟨g, x0 − x⟩, scaled
            if (b1 > 0) expAvg.muli((float) b1).addi(g.mul((float) (d * (1 - b1))));
            expAvgSq.muli((float) b2).addi(g.square().muli((float) (d * d * (1 - b2))));
            s.muli((float) b3).addi(g.mul((float) ((d / d0) * (spec.safeguardWarmup() ? d : dlr))));
            dDenom += s.abs().sum().getFloat();
        }
        if (dDenom == 0) return;  // no gradient at all: the reference leaves d, its numerator and k as they were
        if (lr > 0) {
            numerator += deltaNumerator;
            dHat = spec.dCoef() * numerator / dDenom;
            if (d == d0) d = Math.max(d, dHat);
            dMax = Math.max(dMax, dHat);
            d = Math.min(dMax, d * spec.growthRate());
        }
        dNumerator = numerator;
        // Second pass: the Adam step with the new d in the denominator's ε and the old d in dlr, as the reference.
        for (int i = 0; i < grads.length; i++) {
            NDArray w = params.get(i).value();
            NDArray[] st = buffers(params.get(i));
            NDArray denom = st[1].sqrt().addi((float) (d * spec.eps()));
            if (weightDecay != 0 && spec.decouple()) w.addi(w.mul((float) (-weightDecay * dlr)));
            if (b1 > 0) w.subi(st[0].div(denom).muli((float) dlr));
            else w.subi(grads[i].div(denom).muli((float) (dlr * d)));
        }
        k++;
    }

    @Override
    protected Map<String, Double> scalars() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("d", d);
        m.put("d_max", dMax);
        m.put("d_numerator", dNumerator);
        m.put("d_hat", dHat);
        m.put("k", (double) k);
        return m;
    }

    @Override
    protected void restoreScalars(Map<String, Double> s) {
        d = scalar(s, "d");
        dMax = scalar(s, "d_max");
        dNumerator = scalar(s, "d_numerator");
        dHat = scalar(s, "d_hat");
        k = (long) scalar(s, "k");
    }
}
