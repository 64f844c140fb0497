package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * D-Adaptation Adam (Defazio & Mishchenko, 2023): Adam with a step size d that grows from d0 as a lower bound on the
 * distance to the solution is estimated; the learning rate stays 1. Transcribed from the authors' reference (github
 * facebookresearch/dadaptation, {@code dadaptation/dadapt_adam.py}), one parameter group, layer_scale 1.
 */
public final class DAdaptAdam extends Optimizer {

    /** The reference's constructor defaults (coupled weight decay, no bias correction). */
    public record Spec(double beta1, double beta2, double eps, boolean decouple, boolean useBiasCorrection, double d0,
                       double growthRate) implements OptimizerSpec {
        public static final String NAME = "dadapt-adam";
        /** How reports name it. */
        public static final String TITLE = "D-Adaptation Adam";
        public static final double LR = 1.0, D0 = 1e-6, EPS = 1e-8;

        public Spec {
            if (!(d0 > 0)) throw new IllegalArgumentException("D-Adaptation d0 must be positive, got " + d0);
            if (!(eps > 0)) throw new IllegalArgumentException("D-Adaptation epsilon must be positive, got " + eps);
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("D-Adaptation betas must be in [0, 1)");
        }

        public static Spec defaults() {
            return new Spec(0.9, 0.999, EPS, false, false, D0, Double.POSITIVE_INFINITY);
        }

        @Override public String name() { return NAME; }

        @Override public String title() { return TITLE; }
        @Override public double defaultLr() { return LR; }

        @Override
        public Optimizer build(double weightDecay, double clipNorm, double loraPlusRatio, long maxSteps) {
            if (loraPlusRatio != 1) throw new IllegalArgumentException("LoRA+ needs one lr per tensor group; D-Adaptation estimates one step size for all");
            return new DAdaptAdam(this, weightDecay, clipNorm);
        }

        @Override
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("betas", beta1 + "," + beta2);
            m.put("eps", OptimizerSpec.str(eps));
            m.put("decouple", Boolean.toString(decouple));
            m.put("use_bias_correction", Boolean.toString(useBiasCorrection));
            m.put("d0", OptimizerSpec.str(d0));
            m.put("growth_rate", OptimizerSpec.str(growthRate));
            return m;
        }
    }

    private final Spec spec;
    private double d, numeratorWeighted;
    private long k;

    public DAdaptAdam(Spec spec, double weightDecay, double clipNorm) {
        super(weightDecay, clipNorm, 1);
        this.spec = spec;
        this.d = spec.d0();
    }

    @Override
    protected NDArray[] newState(NDArray like) {
        return new NDArray[]{zerosLike(like), zerosLike(like), zerosLike(like)};  // exp_avg, exp_avg_sq, s
    }

    @Override
    protected void apply(List<Param> params, NDArray[] grads, double lr) {
        double b1 = spec.beta1(), b2 = spec.beta2(), sqrtB2 = Math.sqrt(b2);
        double bias = spec.useBiasCorrection() ? Math.sqrt(1 - Math.pow(b2, k + 1)) / (1 - Math.pow(b1, k + 1)) : 1;
        double dlr = d * lr * bias;
        double numeratorAcc = 0, skL1 = 0;
        for (int i = 0; i < grads.length; i++) {
            NDArray w = params.get(i).value(), g = grads[i];
            NDArray[] st = buffers(params.get(i));
            NDArray expAvg = st[0], expAvgSq = st[1], s = st[2];
            if (weightDecay != 0 && !spec.decouple()) g = g.add(w.mul((float) weightDecay));  // coupled (L2) decay
            NDArray denom = expAvgSq.sqrt().addi((float) spec.eps());                         // before this step's v
            numeratorAcc += dlr * g.mul(s.div(denom)).sum().getFloat();
            expAvg.muli((float) b1).addi(g.mul((float) (dlr * (1 - b1))));  // the step size is folded into the moment
            expAvgSq.muli((float) b2).addi(g.square().muli((float) (1 - b2)));
            s.muli((float) sqrtB2).addi(g.mul((float) (dlr * (1 - sqrtB2))));
            skL1 += s.abs().sum().getFloat();
        }
        if (skL1 == 0) return;  // no gradient at all: the reference leaves d and k as they were
        double weighted = sqrtB2 * numeratorWeighted + (1 - sqrtB2) * numeratorAcc;
        if (lr > 0) {
            double dHat = weighted / ((1 - sqrtB2) * skL1);
            d = Math.max(d, Math.min(dHat, d * spec.growthRate()));
        }
        numeratorWeighted = weighted;
        for (int i = 0; i < grads.length; i++) {
            NDArray w = params.get(i).value();
            NDArray[] st = buffers(params.get(i));
            NDArray denom = st[1].sqrt().addi((float) spec.eps());
            if (weightDecay != 0 && spec.decouple()) w.addi(w.mul((float) (-weightDecay * dlr)));
            w.subi(st[0].div(denom));
        }
        k++;
    }

    @Override
    protected Map<String, Double> scalars() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("d", d);
        m.put("numerator_weighted", numeratorWeighted);
        m.put("k", (double) k);
        return m;
    }

    @Override
    protected void restoreScalars(Map<String, Double> s) {
        d = scalar(s, "d");
        numeratorWeighted = scalar(s, "numerator_weighted");
        k = (long) scalar(s, "k");
    }
}
