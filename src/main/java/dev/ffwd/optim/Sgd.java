package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/** SGD with heavy-ball momentum and L2 weight decay added to the gradient, as torch.optim.SGD (dampening 0). */
public final class Sgd extends Optimizer {

    public record Spec(double momentum) implements OptimizerSpec {
        public static final String NAME = "sgd";
        /** How reports name it. */
        public static final String TITLE = "SGD";
        public static final double MOMENTUM = 0.9;
        /** No published default exists for SGD on LoRA; 1e-2 is a common starting point for momentum 0.9. */
        public static final double LR = 1e-2;

        public Spec {
            if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("SGD momentum must be in [0, 1), got " + momentum);
        }

        public static Spec defaults() {
            return new Spec(MOMENTUM);
        }

        @Override public String name() { return NAME; }

        @Override public String title() { return TITLE; }
        @Override public double defaultLr() { return LR; }
        @Override public boolean supportsLoraPlus() { return true; }

        @Override
        public Optimizer build(double weightDecay, double clipNorm, double loraPlusRatio, long maxSteps) {
            return new Sgd(momentum, weightDecay, clipNorm, loraPlusRatio);
        }

        @Override
        public Map<String, String> settings() {
            return Map.of("momentum", OptimizerSpec.str(momentum));
        }
    }

    private final double momentum;

    public Sgd(double momentum, double weightDecay, double clipNorm, double loraPlusRatio) {
        super(weightDecay, clipNorm, loraPlusRatio);
        this.momentum = momentum;
    }

    @Override
    protected NDArray[] newState(NDArray like) {
        return new NDArray[]{zerosLike(like)};  // momentum buffer
    }

    @Override
    protected void update(NDArray w, NDArray g, NDArray[] s, double lr) {
        NDArray buf = s[0];
        if (weightDecay > 0) g = g.add(w.mul((float) weightDecay));
        buf.muli((float) momentum).addi(g);
        w.subi(buf.mul((float) lr));
    }
}
