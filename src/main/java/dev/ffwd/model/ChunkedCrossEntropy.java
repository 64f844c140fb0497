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
 * ∂/∂h = w·(softmax(h·Wᵀ)·W − W[target]), and handed to autograd through a term whose value is exactly zero:
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
        try (Fp32 head = model.head()) {                                            // a 2-byte head is upcast once
            return sum(head, h, targets, weights, chunk);
        }
    }

    /** As {@link #sum(Transformer, NDArray, NDArray, NDArray, int)} with a frozen head W [V, d] given (a tied one). */
    public static NDArray sum(Fp32 head, NDArray h, NDArray targets, NDArray weights, int chunk) {
        if (!recording()) return perPosition(head, h, targets, weights, chunk).sum();
        if (chunk < 1) throw new IllegalArgumentException("loss chunk must be ≥ 1 position, got " + chunk);
        NDArray hd = h.stopGradient();                                              // [N, d], outside the graph
        long n = h.getShape().get(0);
        NDList losses = new NDList(), gradients = new NDList();
        for (long s = 0; s < n; s += chunk) {
            NDIndex rows = new NDIndex("{}:{}", s, Math.min(n, s + chunk));
            NDList out = chunk(hd.get(rows), targets.get(rows), weights.get(rows), head, true);
            losses.add(out.get(0));
            gradients.add(out.get(1));
        }
        NDArray total = concat(losses).sum();
        NDArray dot = h.mul(concat(gradients)).sum();                                // its gradient with respect to h is G
        return dot.sub(dot.stopGradient()).add(total);
    }

    /**
     * The weighted NLL of each position [N], for evaluation only (no gradient): what {@link #sum} adds up, kept apart
     * so that a caller can sum it per sequence.
     */
    public static NDArray perPosition(Fp32 head, NDArray h, NDArray targets, NDArray weights, int chunk) {
        if (chunk < 1) throw new IllegalArgumentException("loss chunk must be ≥ 1 position, got " + chunk);
        if (recording()) throw new IllegalStateException("per-position losses are for evaluation, outside a gradient collector");
        NDList losses = new NDList();
        for (long s = 0, n = h.getShape().get(0); s < n; s += chunk) {
            NDIndex rows = new NDIndex("{}:{}", s, Math.min(n, s + chunk));
            losses.add(chunk(h.get(rows), targets.get(rows), weights.get(rows), head, false).get(0));
        }
        return concat(losses);
    }

    /** Whether autograd is recording (inside a GradientCollector; DJL's hasGradient() is false for graph nodes). */
    public static boolean recording() {
        return JniUtils.isGradMode();
    }

    /** One chunk: the weighted NLL [c] and, with {@code grad}, G = ∂(Σ nll)/∂h [c, d]; the [c, V] arrays are freed before returning. */
    private static NDList chunk(NDArray h, NDArray t, NDArray w, Fp32 head, boolean grad) {
        NDList out = new NDList();
        try (NDScope ignored = new NDScope()) {
            NDArray logits = Transformer.logits(h, head);                            // [c, V]
            NDArray logp = logits.logSoftmax(-1);                                  // [c, V]
            logits.close();                                                        // at most two [c, V] arrays at a time
            out.add(logp.gather(t.expandDims(1), 1).squeeze(1).neg().mul(w));     // [c]
            if (grad) {
                // (softmax − onehot(t))·W = softmax·W − W[t]: the target rows are gathered, never a [c, V] one-hot
                NDArray wc = w.expandDims(1);                                      // [c, 1]
                NDArray p = logp.exp();                                            // [c, V]
                logp.close();
                NDArray fromSoftmax = p.muli(wc).matMul(head.array());             // [c, d]
                p.close();
                out.add(fromSoftmax.subi(Ops.embedding(head.array(), t).muli(wc))); // [c, d]
            }
            NDScope.unregister(out);
        }
        for (NDArray a : out) NDScope.register(a);                                 // to the enclosing scope, which frees them
        return out;
    }

    private static NDArray concat(NDList parts) {
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts);
    }
}
