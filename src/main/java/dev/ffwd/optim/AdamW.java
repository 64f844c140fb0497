package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

import java.util.LinkedHashMap;
import java.util.Map;

/** AdamW (Loshchilov & Hutter) with bias correction and decoupled weight decay, as torch.optim.AdamW. */
public final class AdamW extends Optimizer {

    /**
     * β1, β2 and ε. torch.optim.AdamW's defaults; the authors of Fast Forward used transformers.AdamW with ε 1e-6
     * ({@link #paper()}).
     */
    public record Spec(double beta1, double beta2, double eps) implements OptimizerSpec {
        public static final String NAME = "adamw";
        /** How reports name it. */
        public static final String TITLE = "AdamW";
        public static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, PAPER_EPS = 1e-6;
        /** The paper's learning rate (Rahamim et al., 2024), which ffwd has always defaulted to for AdamW. */
        public static final double LR = 2e-5;

        public Spec {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
            if (!(eps > 0)) throw new IllegalArgumentException("AdamW epsilon must be positive, got " + eps);
        }

        public static Spec defaults() {
            return new Spec(BETA1, BETA2, EPS);
        }

        public static Spec paper() {
            return new Spec(BETA1, BETA2, PAPER_EPS);
        }

        public Spec withEps(double v) {
            return new Spec(beta1, beta2, v);
        }

        @Override public String name() { return NAME; }

        @Override public String title() { return TITLE; }
        @Override public double defaultLr() { return LR; }
        @Override public boolean supportsLoraPlus() { return true; }

        @Override
        public Optimizer build(double weightDecay, double clipNorm, double loraPlusRatio, long maxSteps) {
            return new AdamW(this, weightDecay, clipNorm, loraPlusRatio);
        }

        @Override
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("adam_eps", OptimizerSpec.str(eps));  // the key every AdamW checkpoint records
            if (beta1 != BETA1 || beta2 != BETA2) {
                m.put("beta1", OptimizerSpec.str(beta1));
                m.put("beta2", OptimizerSpec.str(beta2));
            }
            return m;
        }
    }

    private final Spec spec;

    public AdamW(Spec spec, double weightDecay, double clipNorm, double loraPlusRatio) {
        super(weightDecay, clipNorm, loraPlusRatio);
        this.spec = spec;
    }

    /** torch.optim.AdamW's defaults, with gradient clipping at 1.0. */
    public static AdamW defaults() {
        return new AdamW(Spec.defaults(), 0.0, 1.0, 1.0);
    }

    @Override
    protected NDArray[] newState(NDArray like) {
        return new NDArray[]{zerosLike(like), zerosLike(like)};  // m, v
    }

    @Override
    protected void update(NDArray w, NDArray g, NDArray[] s, double lr) {
        NDArray m = s[0], v = s[1];
        m.muli((float) spec.beta1).addi(g.mul((float) (1 - spec.beta1)));
        v.muli((float) spec.beta2).addi(g.square().muli((float) (1 - spec.beta2)));
        double bc1 = 1 - Math.pow(spec.beta1, steps), bc2 = 1 - Math.pow(spec.beta2, steps);
        if (weightDecay > 0) w.muli((float) (1 - lr * weightDecay));
        NDArray denom = v.div((float) bc2).sqrt().addi((float) spec.eps);
        w.subi(m.div(denom).muli((float) (lr / bc1)));
    }
}
