package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

/**
 * Activation checkpointing of one training forward and backward pass (HF Trainer's gradient checkpointing), built from
 * DJL's public autograd since it has no custom autograd function. The forward pass runs the embeddings and the blocks
 * without recording, keeping only each block's input; the last block's output becomes a leaf that requires a gradient,
 * and only the final norm, head and loss are recorded. After the caller's backward of the loss, that leaf holds the
 * gradient g at the top of the blocks. Then, from the top block down, each block is re-run with recording from its
 * input (a leaf that requires a gradient where something below it is trainable) and the backward of Σ y ⊙ g sends g
 * through it: the adapters' gradients accumulate in their parameters across these calls, as PyTorch accumulates them
 * across micro-batches, and the input's gradient is the next g.
 *
 * <p>Memory: the forward keeps L + 1 arrays [B, T, d] instead of every block's activations and, for a 2-byte
 * checkpoint, every layer's fp32 copy of its frozen weight that autograd saves; the backward holds one block's worth at
 * a time. Cost: the blocks' forward pass once more. Dropout masks are the same in the recompute because each block's
 * generator is reseeded from the same per-forward seed ({@link Transformer#block(int, NDArray, Transformer.Context, boolean, long)}).
 */
final class ActivationCheckpoint {

    private final Transformer model;
    private NDArray[] inputs;           // [L + 1] block inputs [B, T, d], outside the graph; inputs[L] is the top leaf
    private Transformer.Context ctx;
    private long seed;

    ActivationCheckpoint(Transformer model) {
        this.model = model;
    }

    boolean recorded() {
        return inputs != null;
    }

    /** The forward pass that keeps only block inputs; returns the final hidden states, recorded from the top leaf. */
    NDArray forward(NDArray ids, Transformer.Context ctx, long seed) {
        int layers = model.config.layers();
        this.ctx = ctx;
        this.seed = seed;
        inputs = new NDArray[layers + 1];
        boolean grad = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            inputs[0] = Transformer.scoped(() -> model.embed(ids, ctx, true));
            for (int i = 0; i < layers; i++) {
                NDArray in = inputs[i];
                int layer = i;
                inputs[i + 1] = Transformer.scoped(() -> model.block(layer, in, ctx, true, seed));
            }
        } finally {
            JniUtils.setGradMode(grad);
        }
        inputs[layers].setRequiresGradient(true);
        return model.finish(inputs[layers]);
    }

    /** After the backward of the loss: the blocks' backward, from the top block down, one recomputed block at a time. */
    void backward(GradientCollector gc) {
        int layers = model.config.layers();
        boolean[] trainableBelow = new boolean[layers + 1];  // [i]: some block under input i holds a trainable tensor
        for (int i = 0; i < layers; i++) trainableBelow[i + 1] = trainableBelow[i] || model.adapted(i);
        NDArray g = gradient(inputs[layers]);                                       // [B, T, d]
        for (int i = layers - 1; i >= 0 && trainableBelow[i + 1]; i--) {            // blocks under the first adapter need nothing
            NDArray in = inputs[i], upstream = g;
            boolean needInput = trainableBelow[i];
            if (needInput) in.setRequiresGradient(true);
            int layer = i;
            g = Transformer.scoped(() -> {
                NDArray y = model.block(layer, in, ctx, true, seed);              // recorded, the forward's dropout masks
                gc.backward(y.mul(upstream).sum());                                // ∂(Σ y ⊙ g)/∂θ = gᵀ·∂y/∂θ
                return needInput ? gradient(in) : null;
            });
            upstream.close();
            inputs[i + 1].close();
        }
        if (g != null) g.close();
        for (NDArray a : inputs) if (!a.isReleased()) a.close();
    }

    /** The gradient of leaf {@code a}, in the caller's scope. */
    private static NDArray gradient(NDArray a) {
        NDArray g = a.getGradient();
        NDArray copy = g.duplicate();  // the handle getGradient returns belongs to a's manager; the copy to the caller's scope
        g.close();
        return copy;
    }
}
