package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

/** AdamW (Loshchilov & Hutter) with bias correction and decoupled weight decay, as torch.optim.AdamW. */
public final class AdamW extends Optimizer {

    private final double beta1, beta2, eps;

    public AdamW(double beta1, double beta2, double eps, double weightDecay, double clipNorm) {
        super(weightDecay, clipNorm);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    /** torch.optim.AdamW's defaults, with gradient clipping at 1.0. */
    public static AdamW defaults() {
        return new AdamW(0.9, 0.999, 1e-8, 0.0, 1.0);
    }

    @Override
    protected NDArray[] newState(NDArray like) {
        return new NDArray[]{zerosLike(like), zerosLike(like)};  // m, v
    }

    @Override
    protected void update(NDArray w, NDArray g, NDArray[] s, double lr) {
        NDArray m = s[0], v = s[1];
        m.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
        v.muli((float) beta2).addi(g.square().muli((float) (1 - beta2)));
        double bc1 = 1 - Math.pow(beta1, steps), bc2 = 1 - Math.pow(beta2, steps);
        if (weightDecay > 0) w.muli((float) (1 - lr * weightDecay));
        NDArray denom = v.div((float) bc2).sqrt().addi((float) eps);
        w.subi(m.div(denom).muli((float) (lr / bc1)));
    }
}
