package dev.ffwd.flops;

import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Arch;
import dev.ffwd.model.ModelConfig;

/**
 * Analytic matmul FLOPs (2·m·n·k per matmul; element-wise ops, norms and softmax are not counted) of a batch of
 * shape [B, T], under two conventions:
 * <ul>
 *   <li>paper: a train step costs 3 × forward (Rahamim et al.; Kaplan et al.);</li>
 *   <li>exact: forward plus only the backward products that LoRA needs. Frozen weights get no weight gradient;
 *       an input gradient is computed only where the input depends on a trainable tensor, so blocks below the
 *       first adapter cost nothing backward.</li>
 * </ul>
 */
public final class FlopCounter {

    /** What a train step or a forward pass costs. */
    public record Flops(double forward, double exact, double paper) {}

    private final ModelConfig c;
    private final LoraConfig lora;  // null: no adapters
    private final int headOutputs;   // classes for a classification head, 0 for the LM head

    public FlopCounter(ModelConfig c, LoraConfig lora, int classes) {
        this.c = c;
        this.lora = lora;
        this.headOutputs = classes;
    }

    /** Forward-only FLOPs: an evaluation or Fast Forward validation pass. */
    public double forward(long b, long t) {
        return count(b, t).fwd;
    }

    /** A train step (forward and backward) on one micro-batch; optimizer updates are O(params) and not counted. */
    public Flops trainStep(long b, long t) {
        Tally tl = count(b, t);
        return new Flops(tl.fwd, tl.fwd + tl.bwd, 3 * tl.fwd);
    }

    /** Accumulates forward and backward FLOPs, tracking whether the current activation depends on a trainable tensor. */
    private static final class Tally {
        double fwd, bwd;
    }

    private Tally count(long b, long t) {
        Tally tl = new Tally();
        long n = b * t, d = c.hidden(), h = c.heads(), hd = c.headDim(), ff = c.intermediate();
        long qOut = h * hd, kvOut = (long) c.kvHeads() * hd;
        String[] names = names();
        boolean x = false;  // does the residual stream depend on a trainable tensor?
        for (int layer = 0; layer < c.layers(); layer++) {
            // attention projections read norm(x)
            boolean qkvTrain = false;
            if (c.arch() == Arch.GPT_NEOX) {
                qkvTrain = linear(tl, names[0], layer, n, d, 3 * qOut, x);
            } else {
                qkvTrain |= linear(tl, names[0], layer, n, d, qOut, x);
                qkvTrain |= linear(tl, names[1], layer, n, d, kvOut, x);
                qkvTrain |= linear(tl, names[2], layer, n, d, kvOut, x);
            }
            boolean attnIn = x || qkvTrain;
            double scores = 2.0 * b * h * t * t * hd;  // q·kᵀ, and again for probs·v
            tl.fwd += 2 * scores;
            if (attnIn) tl.bwd += 2 * 2 * scores;      // both operands of both products are activations
            boolean attnOut = linear(tl, names[3], layer, n, qOut, d, attnIn) || attnIn;
            boolean mlpIn = c.parallelResidual() ? x : x || attnOut;
            boolean upTrain;
            if (c.arch() == Arch.LLAMA) {
                upTrain = linear(tl, names[4], layer, n, d, ff, mlpIn) | linear(tl, names[5], layer, n, d, ff, mlpIn);
            } else {
                upTrain = linear(tl, names[4], layer, n, d, ff, mlpIn);
            }
            boolean mlpOut = linear(tl, names[6], layer, n, ff, d, mlpIn || upTrain) || mlpIn || upTrain;
            x = x || attnOut || mlpOut;
        }
        if (headOutputs == 0) {  // LM head on T-1 positions, frozen: input gradient only
            double f = 2.0 * b * (t - 1) * d * c.vocabSize();
            tl.fwd += f;
            if (x) tl.bwd += f;
        } else {                 // trainable classification head on pooled vectors
            double f = 2.0 * b * d * headOutputs;
            tl.fwd += f;
            tl.bwd += x ? 2 * f : f;
        }
        return tl;
    }

    /**
     * Counts a linear layer in -> out over n rows; returns whether it carries an adapter.
     * {@code inGrad}: whether its input depends on a trainable tensor (so the input gradient is needed).
     */
    private boolean linear(Tally tl, String name, int layer, long n, long in, long out, boolean inGrad) {
        double w = 2.0 * n * in * out;
        tl.fwd += w;
        if (inGrad) tl.bwd += w;
        if (name == null || lora == null || !lora.matches(path(name, layer))) return false;
        long r = lora.rank();
        double a = 2.0 * n * in * r, bb = 2.0 * n * r * out;
        tl.fwd += a + bb;
        tl.bwd += a + bb + bb;          // weight grads of A and B, input grad of B
        if (inGrad) tl.bwd += a;        // input grad of A
        if (lora.dora()) {              // DoRA: x·Wᵀ again and ‖W + sBA‖ (B·A formed)
            tl.fwd += w + 2.0 * out * r * in;
            tl.bwd += 2.0 * out * r * in * 2;
            if (inGrad) tl.bwd += w;
        }
        return true;
    }

    /** HF module names, in the order q, k, v (or fused qkv), o, up, gate, down. */
    private String[] names() {
        return switch (c.arch()) {
            case GPT_NEOX -> new String[]{"gpt_neox.layers.%d.attention.query_key_value", null, null,
                    "gpt_neox.layers.%d.attention.dense", "gpt_neox.layers.%d.mlp.dense_h_to_4h", null, "gpt_neox.layers.%d.mlp.dense_4h_to_h"};
            case LLAMA -> new String[]{"model.layers.%d.self_attn.q_proj", "model.layers.%d.self_attn.k_proj",
                    "model.layers.%d.self_attn.v_proj", "model.layers.%d.self_attn.o_proj", "model.layers.%d.mlp.gate_proj",
                    "model.layers.%d.mlp.up_proj", "model.layers.%d.mlp.down_proj"};
            case BERT -> new String[]{"encoder.layer.%d.attention.self.query", "encoder.layer.%d.attention.self.key",
                    "encoder.layer.%d.attention.self.value", "encoder.layer.%d.attention.output.dense",
                    "encoder.layer.%d.intermediate.dense", null, "encoder.layer.%d.output.dense"};
        };
    }

    private static String path(String pattern, int layer) {
        return String.format(pattern, layer);
    }
}
