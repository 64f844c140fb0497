package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Schedule-Free AdamW (Defazio et al., 2024): no learning-rate schedule; the model is an average x of the Adam iterates
 * z, and gradients are taken at y = β1·x + (1 − β1)·z. Transcribed from the authors' simplified reference (github
 * facebookresearch/schedule_free, {@code schedulefree/adamw_schedulefree_reference.py}) with inner momentum 0 and
 * decay at y. The parameters hold y while training; {@link #useModelWeights} puts x in them for evaluation, saving and
 * Fast Forward, and {@link #useTrainingWeights} takes x back from them (a Fast Forward stage may have moved it) and
 * recomputes y.
 */
public final class ScheduleFree extends Optimizer {

    /**
     * The reference's defaults (lr 2.5e-3, β 0.9/0.999, ε 1e-8, r 0, weight_lr_power 2), with the warm-up its README
     * recommends sized as in the authors' AlgoPerf self-tuning entry: {@code warmupFraction} of the step budget.
     */
    public record Spec(double beta1, double beta2, double eps, double warmupFraction, double r, double weightLrPower)
            implements OptimizerSpec {
        public static final String NAME = "schedule-free";
        /** How reports name it. */
        public static final String TITLE = "Schedule-Free AdamW";
        public static final double LR = 2.5e-3, WARMUP_FRACTION = 0.02, WEIGHT_LR_POWER = 2;

        public Spec {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("Schedule-Free betas must be in [0, 1)");
            if (!(eps > 0)) throw new IllegalArgumentException("Schedule-Free epsilon must be positive, got " + eps);
            if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new IllegalArgumentException("Schedule-Free warm-up share must be in [0, 1), got " + warmupFraction);
        }

        public static Spec defaults() {
            return new Spec(0.9, 0.999, 1e-8, WARMUP_FRACTION, 0, WEIGHT_LR_POWER);
        }

        /** Warm-up steps for a run of {@code maxSteps}: at least one when the share is positive. */
        public long warmupSteps(long maxSteps) {
            return warmupFraction == 0 ? 0 : Math.max(1, Math.round(warmupFraction * maxSteps));
        }

        @Override public String name() { return NAME; }

        @Override public String title() { return TITLE; }
        @Override public double defaultLr() { return LR; }

        @Override
        public Optimizer build(double weightDecay, double clipNorm, double loraPlusRatio, long maxSteps) {
            if (loraPlusRatio != 1) throw new IllegalArgumentException("LoRA+ is not combined with Schedule-Free here: its average weights each step by the group's lr");
            return new ScheduleFree(this, warmupSteps(maxSteps), weightDecay, clipNorm);
        }

        @Override
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("betas", beta1 + "," + beta2);
            m.put("eps", OptimizerSpec.str(eps));
            m.put("warmup_fraction", OptimizerSpec.str(warmupFraction));
            m.put("r", OptimizerSpec.str(r));
            m.put("weight_lr_power", OptimizerSpec.str(weightLrPower));
            return m;
        }
    }

    private final Spec spec;
    private final long warmupSteps;
    private double weightSum, lrMax = -1;
    private long k;
    private boolean modelView;  // the parameters hold x (else y)

    public ScheduleFree(Spec spec, long warmupSteps, double weightDecay, double clipNorm) {
        super(weightDecay, clipNorm, 1);
        this.spec = spec;
        this.warmupSteps = warmupSteps;
    }

    @Override
    protected NDArray[] newState(NDArray like) {
        return new NDArray[]{owned(like.duplicate()), zerosLike(like), owned(like.duplicate())};  // z, exp_avg_sq, x
    }

    @Override
    protected void apply(List<Param> params, NDArray[] grads, double lr) {
        double sched = k < warmupSteps ? (k + 1) / (double) warmupSteps : 1;
        double bc2 = 1 - Math.pow(spec.beta2(), k + 1);
        lr = lr * sched;
        lrMax = Math.max(lr, lrMax);
        double weight = Math.pow(k + 1, spec.r()) * Math.pow(lrMax, spec.weightLrPower());
        weightSum += weight;
        double ckp1 = weightSum == 0 ? 0 : weight / weightSum;
        for (int i = 0; i < grads.length; i++) {
            NDArray y = params.get(i).value(), g = grads[i];
            NDArray[] st = buffers(params.get(i));
            NDArray z = st[0], v = st[1], x = st[2];
            if (weightDecay != 0) z.subi(y.mul((float) (lr * weightDecay)));  // decay at y
            v.muli((float) spec.beta2()).addi(g.square().muli((float) (1 - spec.beta2())));
            NDArray denom = v.div((float) bc2).sqrt().addi((float) spec.eps());
            z.subi(g.div(denom).muli((float) lr));
            x.muli((float) (1 - ckp1)).addi(z.mul((float) ckp1));
            Param.write(y, trainingPoint(x, z));
        }
        k++;
    }

    /** y = β1·x + (1 − β1)·z, computed the same way at every step and on every switch back (so it is bit-identical). */
    private NDArray trainingPoint(NDArray x, NDArray z) {
        return x.mul((float) spec.beta1()).addi(z.mul((float) (1 - spec.beta1())));
    }

    @Override
    public void useModelWeights(List<Param> params) {
        if (modelView) return;
        for (Param p : params) {
            NDArray[] st = state.get(p.name());
            if (st != null) Param.write(p.value(), st[2]);
        }
        modelView = true;
    }

    @Override
    public void useTrainingWeights(List<Param> params) {
        if (!modelView) return;
        try (ai.djl.ndarray.NDScope ignored = new ai.djl.ndarray.NDScope()) {
            for (Param p : params) {
                NDArray[] st = state.get(p.name());
                if (st == null) continue;
                Param.write(st[2], p.value());                 // x, as the model view left it
                Param.write(p.value(), trainingPoint(st[2], st[0]));
            }
        }
        modelView = false;
    }

    @Override
    public void restore(State s, List<Param> params) {
        super.restore(s, params);
        modelView = false;  // a checkpoint holds the training point in the parameters
    }

    @Override
    protected Map<String, Double> scalars() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("k", (double) k);
        m.put("weight_sum", weightSum);
        m.put("lr_max", lrMax);
        return m;
    }

    @Override
    protected void restoreScalars(Map<String, Double> s) {
        k = (long) scalar(s, "k");
        weightSum = scalar(s, "weight_sum");
        lrMax = scalar(s, "lr_max");
    }
}
