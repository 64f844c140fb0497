package dev.ffwd.flops;

import dev.ffwd.data.Example;
import dev.ffwd.data.Masking;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Layout;
import dev.ffwd.model.Layout.Role;
import dev.ffwd.model.ModelConfig;

import java.util.List;

/**
 * Analytic matmul FLOPs (2·m·n·k per matmul; element-wise ops, norms and softmax are not counted) of a batch of
 * shape [B, T], under two conventions. The linear layers and their roles come from the family's {@link Layout}. The
 * LM head (frozen, tied or not) costs 2·d·V per position it scores: every position but the last for a causal LM, the
 * masked positions for masked language modelling (an encoder without classes); forward, and as much again backward
 * for the gradient of its input (the head itself gets no weight gradient).
 * <ul>
 *   <li>paper: a train step costs 3 × forward (Rahamim et al.; Kaplan et al.);</li>
 *   <li>exact: forward plus only the backward products that LoRA needs. Frozen weights get no weight gradient;
 *       an input gradient is computed only where the input depends on a trainable tensor, so blocks below the
 *       first adapter cost nothing backward. With activation checkpointing, the blocks whose output depends on a
 *       trainable tensor run their forward pass a second time in backward, and exact charges it; paper does not
 *       (the convention counts the model's computation, not how memory is traded for it).</li>
 * </ul>
 */
public final class FlopCounter {

    /** What a train step or a forward pass costs. */
    public record Flops(double forward, double exact, double paper) {}

    private final ModelConfig c;
    private final LoraConfig lora;  // null: no adapters
    private final int headOutputs;   // classes for a classification head, 0 for the LM head
    private final boolean masked;    // the LM head of an encoder: masked language modelling, at the masked positions only
    private final Layout layout;     // the family's linear layers and their roles
    private final boolean recompute; // activation checkpointing: blocks run forward again in backward

    public FlopCounter(ModelConfig c, LoraConfig lora, int classes) {
        this(c, lora, classes, false);
    }

    /** {@code recompute}: training uses activation checkpointing (TrainConfig.Memory's checkpointActivations). */
    public FlopCounter(ModelConfig c, LoraConfig lora, int classes, boolean recompute) {
        this.c = c;
        this.layout = c.arch().layout(c);
        this.lora = lora;
        this.headOutputs = classes;
        this.masked = classes == 0 && !c.causal();
        this.recompute = recompute;
    }

    /**
     * Forward-only FLOPs: an evaluation or Fast Forward validation pass over a batch of b rows padded to t tokens. For
     * masked language modelling the head's positions are estimated as those of b full rows ({@link #headRows}); the
     * overload that takes the examples counts them exactly.
     */
    public double forward(long b, long t) {
        return count(b, t, headRows(b, t)).fwd;
    }

    /** Forward-only FLOPs of a batch of {@code examples}, with the head's positions counted from them. */
    public double forward(List<Example> examples) {
        return count(examples.size(), length(examples), headRows(examples)).fwd;
    }

    /** A train step (forward and backward) on one micro-batch; optimizer updates are O(params) and not counted. */
    public Flops trainStep(long b, long t) {
        return flops(count(b, t, headRows(b, t)));
    }

    /** As {@link #trainStep(long, long)}, with the head's positions counted from the micro-batch's {@code examples}. */
    public Flops trainStep(List<Example> examples) {
        return flops(count(examples.size(), length(examples), headRows(examples)));
    }

    private Flops flops(Tally tl) {
        return new Flops(tl.fwd, tl.fwd + tl.bwd + (recompute ? tl.recompute : 0), 3 * tl.fwd);
    }

    /**
     * The positions whose vocabulary logits a batch of b rows padded to t tokens forms: all but the last of each row for
     * a causal LM (padding included: the chunked loss scores them with weight 0); the masked positions of b rows of t
     * tokens, two of them markers, for masked LM ({@link Masking#count}: exact when every row has t tokens, an upper
     * bound otherwise); none for classification.
     */
    public long headRows(long b, long t) {
        if (headOutputs > 0) return 0;
        return masked ? b * Masking.count((int) Math.max(0, t - 2)) : b * Math.max(0, t - 1);
    }

    /** As {@link #headRows(long, long)} for these examples: for masked LM, exactly their masked positions. */
    public long headRows(List<Example> examples) {
        if (!masked) return headRows(examples.size(), length(examples));
        return examples.stream().mapToLong(Example::targetCount).sum();
    }

    private static long length(List<Example> examples) {
        return examples.stream().mapToInt(Example::length).max().orElse(0);
    }

    /** Accumulates forward and backward FLOPs, tracking whether the current activation depends on a trainable tensor. */
    private static final class Tally {
        double fwd, bwd;
        double recompute;  // forward FLOPs of the blocks whose output depends on a trainable tensor
    }

    /** {@code headRows}: positions at which the LM head forms logits ({@link #headRows}). */
    private Tally count(long b, long t, long headRows) {
        Tally tl = new Tally();
        long n = b * t, d = c.hidden(), h = c.heads(), hd = c.headDim();
        boolean x = false;  // does the residual stream depend on a trainable tensor?
        for (int layer = 0; layer < c.layers(); layer++) {
            List<Layout.Module> block = layout.block(layer);
            double before = tl.fwd;
            // attention projections read norm(x): one fused q|k|v projection, or q, k and v in that order
            List<Layout.Module> in = role(block, Role.ATTN_IN);
            if (in.size() != 1 && in.size() != 3)
                throw new IllegalStateException("block " + layer + " declares " + in.size() + " attention input projections, expected 1 (fused) or 3 (q, k, v)");
            boolean[] qkv = {x, x, x};  // does q, k, v depend on a trainable tensor?
            for (int i = 0; i < in.size(); i++) {
                boolean adapted = linear(tl, in.get(i), n, x);
                if (in.size() == 1) for (int j = 0; j < 3; j++) qkv[j] |= adapted;
                else qkv[i] |= adapted;
            }
            boolean q = qkv[0], k = qkv[1], v = qkv[2];
            double product = 2.0 * b * h * t * t * hd;  // one attention matmul: q·kᵀ, or probs·v
            tl.fwd += 2 * product;
            // backward: dprobs = dout·vᵀ (for q or k), dq = dscores·k, dk = dscoresᵀ·q, dv = probsᵀ·dout, each only when needed
            tl.bwd += product * ((q || k ? 1 : 0) + (q ? 1 : 0) + (k ? 1 : 0) + (v ? 1 : 0));
            boolean attnIn = q || k || v;
            boolean attnOut = attnIn;
            for (Layout.Module m : role(block, Role.ATTN_OUT)) attnOut |= linear(tl, m, n, attnIn);
            boolean mlpIn = c.parallelResidual() ? x : x || attnOut;
            boolean upTrain = false;
            for (Layout.Module m : role(block, Role.MLP_IN)) upTrain |= linear(tl, m, n, mlpIn);
            boolean mlpOut = mlpIn || upTrain;
            for (Layout.Module m : role(block, Role.MLP_OUT)) mlpOut |= linear(tl, m, n, mlpIn || upTrain);
            x = x || attnOut || mlpOut;
            if (x) tl.recompute += tl.fwd - before;  // checkpointing re-runs this block to back-propagate through it
        }
        if (headOutputs == 0) {  // LM head (T-1 positions per row, or the masked ones), frozen: input gradient only
            double f = 2.0 * headRows * d * c.vocabSize();
            tl.fwd += f;
            if (x) tl.bwd += f;
        } else {                 // trainable classification head on pooled vectors
            double f = 2.0 * b * d * headOutputs;
            tl.fwd += f;
            tl.bwd += x ? 2 * f : f;
        }
        return tl;
    }

    private static List<Layout.Module> role(List<Layout.Module> block, Role role) {
        return block.stream().filter(m -> m.role() == role).toList();
    }

    /**
     * Counts linear layer {@code m} over n rows; returns whether it carries an adapter.
     * {@code inGrad}: whether its input depends on a trainable tensor (so the input gradient is needed).
     */
    private boolean linear(Tally tl, Layout.Module m, long n, boolean inGrad) {
        long in = m.in(), out = m.out();
        double w = 2.0 * n * in * out;
        tl.fwd += w;
        if (inGrad) tl.bwd += w;
        if (lora == null || !lora.matches(m.name())) return false;
        long r = lora.rank();
        double a = 2.0 * n * in * r, bb = 2.0 * n * r * out;
        tl.fwd += a + bb;
        tl.bwd += a + bb + bb;          // weight grads of A and B, input grad of B
        if (inGrad) tl.bwd += a;        // input grad of A
        if (lora.dora()) {              // DoRA: x·Wᵀ again and ‖W + sBA‖ (B·A formed)
            tl.fwd += w + 2.0 * out * r * in;
            if (inGrad) tl.bwd += w;    // the norm is detached: no backward through B·A; W is frozen: input grad only
        }
        return true;
    }
}
