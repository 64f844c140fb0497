package dev.ffwd.flops;

import dev.ffwd.TinyModels;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The analytic count against numbers worked out by hand for tiny-llama (d 32, 4 heads, 2 KV heads, ffn 64, vocab 96). */
class FlopCounterTest {

    static final long B = 2, T = 5, N = B * T, D = 32, HD = 8, H = 4, KV = 16, F = 64, V = 96, R = 4;

    @Test
    void loraOnQueryAndValueMatchesHandCount() {
        ModelConfig c = TinyModels.config("tiny-llama");
        FlopCounter fc = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of("q_proj", "v_proj"), false), 0);

        double q = 2.0 * N * D * D, k = 2.0 * N * D * KV, v = 2.0 * N * D * KV, o = 2.0 * N * D * D;
        double mlp = 2 * (2.0 * N * D * F) + 2.0 * N * F * D;
        double product = 2.0 * B * H * T * T * HD, attn = 2 * product;  // q·kᵀ and probs·v
        double loraQ = 2.0 * N * D * R + 2.0 * N * R * D, loraV = 2.0 * N * D * R + 2.0 * N * R * KV;
        double head = 2.0 * B * (T - 1) * D * V;
        double fwdLayer = q + k + v + o + mlp + attn + loraQ + loraV;
        double fwd = 2 * fwdLayer + head;

        // layer 0: its input depends on nothing trainable, so q/k/v need no input gradient and LoRA A no input grad;
        // attention needs dprobs = dout·vᵀ, dq and dv but not dk (k is frozen); everything after needs input gradients.
        double aQ = 2.0 * N * D * R, bQ = 2.0 * N * R * D, aV = 2.0 * N * D * R, bV = 2.0 * N * R * KV;
        double bwd0 = (aQ + 2 * bQ) + (aV + 2 * bV) + 3 * product + o + mlp;
        // layer 1: all input gradients, plus LoRA A's input gradient; all four attention products
        double bwd1 = q + k + v + (2 * aQ + 2 * bQ) + (2 * aV + 2 * bV) + 4 * product + o + mlp;
        double bwd = bwd0 + bwd1 + head;  // frozen LM head: input gradient only

        FlopCounter.Flops f = fc.trainStep(B, T);
        assertEquals(fwd, f.forward(), 1e-6);
        assertEquals(fwd, fc.forward(B, T), 1e-6);
        assertEquals(3 * fwd, f.paper(), 1e-6);
        assertEquals(fwd + bwd, f.exact(), 1e-6);
    }

    /**
     * Activation checkpointing re-runs the forward pass of each block whose output depends on an adapter (here both:
     * q_proj is adapted in every block), not the head; exact charges it, paper stays 3 × forward. Without any adapter
     * nothing is recomputed.
     */
    @Test
    void checkpointingChargesTheRecomputedBlocksToExactOnly() {
        ModelConfig c = TinyModels.config("tiny-llama");
        LoraConfig lc = new LoraConfig((int) R, 8, 0, List.of("q_proj"), false);
        FlopCounter.Flops plain = new FlopCounter(c, lc, 0).trainStep(B, T), ckpt = new FlopCounter(c, lc, 0, true).trainStep(B, T);
        double q = 2.0 * N * D * D, k = 2.0 * N * D * KV, v = 2.0 * N * D * KV, o = 2.0 * N * D * D;
        double mlp = 2 * (2.0 * N * D * F) + 2.0 * N * F * D, attn = 2 * (2.0 * B * H * T * T * HD);
        double fwdLayer = q + k + v + o + mlp + attn + 2.0 * N * D * R + 2.0 * N * R * D;
        assertEquals(plain.forward(), ckpt.forward(), 1e-6);
        assertEquals(plain.paper(), ckpt.paper(), 1e-6);
        assertEquals(plain.exact() + 2 * fwdLayer, ckpt.exact(), 1e-6);
        LoraConfig none = new LoraConfig((int) R, 8, 0, List.of("nothing_matches"), false);
        assertEquals(new FlopCounter(c, none, 0).trainStep(B, T).exact(), new FlopCounter(c, none, 0, true).trainStep(B, T).exact(), 1e-6);
    }

    /**
     * Attention backward in a block whose input needs no gradient, by the one projection adapted there: dprobs = dout·vᵀ
     * and dq = dscores·k for q; dprobs and dk = dscoresᵀ·q for k; only dv = probsᵀ·dout for v.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"q_proj, 2", "k_proj, 2", "v_proj, 1"})
    void attentionBackwardCountsOnlyTheProductsTheAdaptedProjectionNeeds(String target, int products) {
        ModelConfig c = TinyModels.config("tiny-llama");
        FlopCounter one = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of(target), false), 0);
        FlopCounter none = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of("nothing_matches"), false), 0);
        long out = target.equals("q_proj") ? D : KV;
        double a = 2.0 * N * D * R, b = 2.0 * N * R * out, product = 2.0 * B * H * T * T * HD;
        double q = 2.0 * N * D * D, k = 2.0 * N * D * KV, v = 2.0 * N * D * KV, o = 2.0 * N * D * D;
        double mlp = 2 * (2.0 * N * D * F) + 2.0 * N * F * D, head = 2.0 * B * (T - 1) * D * V;
        // layer 0: the adapter (A, B weight grads, B input grad), its attention products, o and the MLP;
        // layer 1: every input gradient and all four attention products (its input depends on layer 0's adapter)
        double bwd = (a + 2 * b) + products * product + o + mlp
                + (2 * a + 2 * b) + q + k + v + 4 * product + o + mlp + head;
        FlopCounter.Flops f = one.trainStep(B, T);
        assertEquals(none.forward(B, T) + 2 * (a + b), f.forward(), 1e-6);  // an adapter in each layer
        assertEquals(f.forward() + bwd, f.exact(), 1e-6);
    }

    /**
     * DoRA (norm detached, as PEFT does): the forward adds x·Wᵀ again and B·A for the norm; the backward adds only
     * that product's input gradient where the input needs one, never a backward through B·A.
     */
    @Test
    void doraAddsNoBackwardThroughTheDetachedNorm() {
        ModelConfig c = TinyModels.config("tiny-llama");
        FlopCounter lora = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of("q_proj"), false), 0);
        FlopCounter dora = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of("q_proj"), true), 0);
        double w = 2.0 * N * D * D, ba = 2.0 * D * R * D;
        FlopCounter.Flops l = lora.trainStep(B, T), d = dora.trainStep(B, T);
        assertEquals(l.forward() + 2 * (w + ba), d.forward(), 1e-6);        // both layers
        double bwdL = l.exact() - l.forward(), bwdD = d.exact() - d.forward();
        assertEquals(bwdL + w, bwdD, 1e-6);                                  // layer 1's x·Wᵀ input gradient only
    }

    /** Fused projections (Phi-3's qkv_proj, gate_up_proj; GPT-2's Conv1D c_attn) count with their full widths. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"tiny-phi3, qkv_proj, 128, 64", "tiny-gpt2, c_attn, 128, 128"})
    void fusedLayersCountAtTheirWidth(String fixture, String target, long mlpIn, long mlpHidden) {
        ModelConfig c = TinyModels.config(fixture);
        FlopCounter fc = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of(target), false), 0);
        double qkv = 2.0 * N * D * 3 * D, o = 2.0 * N * D * D, up = 2.0 * N * D * mlpIn, down = 2.0 * N * mlpHidden * D;
        double attn = 2 * (2.0 * B * H * T * T * HD), lora = 2.0 * N * D * R + 2.0 * N * R * 3 * D;
        double fwd = 2 * (qkv + o + up + down + attn + lora) + 2.0 * B * (T - 1) * D * V;
        assertEquals(fwd, fc.forward(B, T), 1e-6);
    }

    @Test
    void withoutAdaptersNothingNeedsAGradientButTheClassifierHead() {
        ModelConfig c = TinyModels.config("tiny-gpt-neox");
        FlopCounter fc = new FlopCounter(c, new LoraConfig(4, 8, 0, List.of("nothing_matches"), false), 3);
        FlopCounter.Flops f = fc.trainStep(B, T);
        double headFwd = 2.0 * B * D * 3;
        assertEquals(f.forward() + headFwd, f.exact(), 1e-6);  // only the head's weight gradient
    }

    @Test
    void ledgerAddsUpByPhase() {
        Ledger l = new Ledger();
        l.add(Ledger.Phase.TRAIN, 30, 20, 1.5);
        l.add(Ledger.Phase.TRAIN, 30, 20, 1.5);
        l.add(Ledger.Phase.FF, 5, 5, 0.25);
        l.add(Ledger.Phase.EVAL, 100, 100, 9);
        assertEquals(65, l.flopsPaper());
        assertEquals(45, l.flopsExact());
        assertEquals(3.25, l.wallSeconds());
        Ledger copy = new Ledger();
        copy.restore(l.state());
        assertArrayEquals(new double[]{60, 40, 3, 5, 5, 0.25, 100, 100, 9}, copy.state(), "phase order × {paper, exact, seconds}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> copy.restore(new double[3]));
        assertTrue(e.getMessage().contains("3 values, expected 9"), e.getMessage());
    }

    /**
     * Masked LM (tiny-bert: d 32, vocabulary 96, no classes): the tied head costs 2·d·V per masked position forward and
     * as much again backward when an adapter lies below it (its input gradient; the frozen embeddings get none), nothing
     * backward without adapters, and 3 × forward in the paper's convention. The batch overload counts the masked
     * positions; the shape-only one assumes full rows [CLS] … [SEP] of t tokens.
     */
    @Test
    void maskedLmHeadIsChargedPerMaskedPosition() {
        ModelConfig c = TinyModels.config("tiny-bert");
        long d = 32, v = 96;
        List<dev.ffwd.data.Example> batch = new java.util.ArrayList<>(), unmasked = new java.util.ArrayList<>();
        for (int len : new int[]{40, 23}) {
            boolean[] words = new boolean[len];
            java.util.Arrays.fill(words, 1, len - 1, true);
            long[] ids = new long[len];
            java.util.Arrays.fill(ids, 10);
            batch.add(new dev.ffwd.data.Masking(4, (int) v).apply(new dev.ffwd.data.Example(ids, words, -1), 1, len));
            unmasked.add(new dev.ffwd.data.Example(ids, new boolean[len], -1, ids));
        }
        long masked = 6 + 3;  // round(0.15 · 38), round(0.15 · 21)
        double head = 2.0 * masked * d * v;
        FlopCounter lora = new FlopCounter(c, new LoraConfig((int) R, 8, 0, List.of("query"), false), 0), none = new FlopCounter(c, null, 0);
        assertEquals(masked, lora.headRows(batch));
        assertEquals(head, lora.forward(batch) - lora.forward(unmasked), 1e-6);
        assertEquals(2 * head, lora.trainStep(batch).exact() - lora.trainStep(unmasked).exact(), 1e-6);
        assertEquals(3 * head, lora.trainStep(batch).paper() - lora.trainStep(unmasked).paper(), 1e-6);
        assertEquals(head, none.trainStep(batch).exact() - none.trainStep(unmasked).exact(), 1e-6);
        assertEquals(2 * 6, lora.headRows(2, 40), "shape only: two full rows of 40 tokens");
        assertEquals(lora.forward(2, 40) - 2.0 * 2 * 6 * d * v + 2.0 * masked * d * v, lora.forward(batch), 1e-6,
                "the overloads differ by the head's positions alone");
        assertEquals(0, new FlopCounter(c, null, 3).headRows(batch), "a classifier has no LM head");
    }
}
