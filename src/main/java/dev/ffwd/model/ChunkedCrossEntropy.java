package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The language-model cross-entropy computed over chunks of positions, so that the [positions, vocab] logits exist for
 * one chunk at a time (Liger-Kernel's fused linear cross-entropy, in DJL's terms). The LM head is frozen, so the only
 * gradient needed is the one with respect to the hidden states; it is computed chunk by chunk in the forward pass,
 * ∂/∂h = (softmax(h·Wᵀ) − onehot(target))·w·W, and handed to autograd through a term whose value is exactly zero:
 * {@code Σ h·G − stop(Σ h·G)}. Backward then keeps only G [positions, d], never the logits.
 */
public final class ChunkedCrossEntropy {

    private ChunkedCrossEntropy() {}

    /**
     * Σ_i w_i·(−log softmax(h_i·Wᵀ)[target_i]) over positions i. h [N, d] , targets [N]
     * int64, weights [N] float; {@code chunk} positions per chunk. Inside a gradient collector, the result's gradient
     * with respect to h is exact.
     */
    public static NDArray sum(Transformer model, NDArray h, NDArray targets, NDArray weights, int chunk) {
        if (chunk < 1) throw new IllegalArgumentException("loss chunk must be ≥ 1 position, got " + chunk);
        boolean grad = JniUtils.isGradMode();  // inside a GradientCollector (DJL's hasGradient() is false for graph nodes)
        NDArray hd = grad ? h.stopGradient() : h;                                   // [N, d], outside the graph
        long n = h.getShape().get(0);
        NDList losses = new NDList(), gradients = new NDList();
        for (long s = 0; s < n; s += chunk) {
            NDIndex rows = new NDIndex("{}:{}", s, Math.min(n, s + chunk));
            NDArray loss, g = null;
            try (NDScope ignored = new NDScope()) {                                   // frees the chunk's [c, V] arrays
                NDArray w = weights.get(rows), t = targets.get(rows);                  // [c]
                NDArray logits = model.logits(hd.get(rows));                            // [c, V]
                NDArray logp = logits.logSoftmax(-1);                                  // [c, V]
                logits.close();                                                        // at most two [c, V] arrays at a time
                loss = logp.gather(t.expandDims(1), 1).squeeze(1).neg().mul(w);       // [c]
                NDScope.unregister(loss);
                if (grad) {
                    NDArray p = logp.exp();                                            // [c, V]
                    logp.close();
                    NDArray dLogits = p.subi(t.oneHot((int) p.getShape().get(1))).muli(w.expandDims(1));  // [c, V]
                    g = model.headGradient(dLogits);                                   // [c, d]
                    NDScope.unregister(g);
                }
            }
            losses.add(register(loss));
            if (grad) gradients.add(register(g));
        }
        NDArray total = concat(losses).sum();
        if (!grad) return total;
        NDArray dot = h.mul(concat(gradients)).sum();                                // gradient G with respect to h
        return dot.sub(dot.stopGradient()).add(total);
    }

    /** Hands an array kept out of a chunk's scope to the enclosing one (if any), so that the step frees it. */
    private static NDArray register(NDArray a) {
        NDScope.register(a);
        return a;
    }

    private static NDArray concat(NDList parts) {
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts);
    }
}
