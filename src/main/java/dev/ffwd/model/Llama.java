package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import dev.ffwd.io.TensorStore;

/** Llama family (Llama 2/3, SmolLM, TinyLlama): RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU. */
public final class Llama extends Transformer {

    private record Block(NDArray norm1, NDArray norm2, Linear q, Linear k, Linear v, Linear o,
                         Linear gate, Linear up, Linear down) {}

    private final NDArray embed;
    private final Block[] blocks;
    private final NDArray normF;
    private final NDArray head;

    public Llama(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager);
        long d = c.hidden(), qd = (long) c.heads() * c.headDim(), kvd = (long) c.kvHeads() * c.headDim();
        embed = param("model.embed_tokens.weight", c.vocabSize(), d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i + ".";
            boolean ab = c.attentionBias(), mb = c.mlpBias();
            blocks[i] = new Block(param(p + "input_layernorm.weight", d), param(p + "post_attention_layernorm.weight", d),
                    linear(p + "self_attn.q_proj", qd, d, ab), linear(p + "self_attn.k_proj", kvd, d, ab),
                    linear(p + "self_attn.v_proj", kvd, d, ab), linear(p + "self_attn.o_proj", d, qd, ab),
                    linear(p + "mlp.gate_proj", c.intermediate(), d, mb), linear(p + "mlp.up_proj", c.intermediate(), d, mb),
                    linear(p + "mlp.down_proj", d, c.intermediate(), mb));
        }
        normF = param("model.norm.weight", d);
        head = c.tieEmbeddings() ? embed : param("lm_head.weight", c.vocabSize(), d);
    }

    @Override
    public NDArray hidden(NDArray ids, NDArray mask, boolean training) {
        NDArray x = ids.getNDArrayInternal().embedding(ids, embed, SparseFormat.DENSE).singletonOrThrow();  // [B, T, d]
        NDArray bias = attentionBias(mask, true);
        for (Block b : blocks) {
            x = x.add(attention(b, rmsNorm(x, b.norm1), bias, training));
            x = x.add(mlp(b, rmsNorm(x, b.norm2), training));
        }
        return rmsNorm(x, normF);
    }

    private NDArray attention(Block b, NDArray x, NDArray bias, boolean training) {
        int rep = config.heads() / config.kvHeads();
        NDArray q = rope(splitHeads(b.q.forward(x, training), config.heads()));    // [B, H, T, D]
        NDArray k = rope(splitHeads(b.k.forward(x, training), config.kvHeads()));  // [B, KV, T, D]
        NDArray v = splitHeads(b.v.forward(x, training), config.kvHeads());
        if (rep > 1) {  // each KV head serves `rep` consecutive query heads
            k = k.repeat(1, rep);
            v = v.repeat(1, rep);
        }
        return b.o.forward(mergeHeads(attention(q, k, v, bias)), training);
    }

    private NDArray mlp(Block b, NDArray x, boolean training) {
        NDArray g = b.gate.forward(x, training);
        return b.down.forward(g.mul(Activation.sigmoid(g)).mul(b.up.forward(x, training)), training);
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return hidden.getNDArrayInternal().linear(hidden, head, null).singletonOrThrow();
    }
}
