package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;

/** SGD with heavy-ball momentum and L2 weight decay added to the gradient, as torch.optim.SGD (dampening 0). */
public final class Sgd extends Optimizer {

    private final double momentum;

    public Sgd(double momentum, double weightDecay, double clipNorm) {
        super(weightDecay, clipNorm);
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
