package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.SparseFormat;
import dev.ffwd.io.TensorStore;

/** GPT-NeoX / Pythia: fused QKV, partial rotary, LayerNorm, exact GELU, optional parallel residual, untied head. */
public final class GptNeoX extends Transformer {

    private record Block(NDArray ln1w, NDArray ln1b, NDArray ln2w, NDArray ln2b,
                         Linear qkv, Linear dense, Linear up, Linear down) {}

    private final NDArray embed;
    private final Block[] blocks;
    private final NDArray lnfw, lnfb;
    private final NDArray head;

    public GptNeoX(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager);
        long d = c.hidden(), qkv = 3L * c.heads() * c.headDim();
        embed = param("gpt_neox.embed_in.weight", c.vocabSize(), d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "gpt_neox.layers." + i + ".";
            blocks[i] = new Block(
                    param(p + "input_layernorm.weight", d), param(p + "input_layernorm.bias", d),
                    param(p + "post_attention_layernorm.weight", d), param(p + "post_attention_layernorm.bias", d),
                    linear(p + "attention.query_key_value", qkv, d, c.attentionBias()),
                    linear(p + "attention.dense", d, (long) c.heads() * c.headDim(), c.attentionBias()),
                    linear(p + "mlp.dense_h_to_4h", c.intermediate(), d, true),
                    linear(p + "mlp.dense_4h_to_h", d, c.intermediate(), true));
        }
        lnfw = param("gpt_neox.final_layer_norm.weight", d);
        lnfb = param("gpt_neox.final_layer_norm.bias", d);
        head = c.tieEmbeddings() ? embed : param("embed_out.weight", c.vocabSize(), d);
    }

    @Override
    public NDArray hidden(NDArray ids, NDArray mask, boolean training) {
        NDArray x = ids.getNDArrayInternal().embedding(ids, embed, SparseFormat.DENSE).singletonOrThrow();  // [B, T, d]
        NDArray bias = attentionBias(mask, true);
        for (Block b : blocks) {
            NDArray attn = attention(b, layerNorm(x, b.ln1w, b.ln1b), bias, training);
            if (config.parallelResidual()) {
                x = x.add(attn).add(mlp(b, layerNorm(x, b.ln2w, b.ln2b), training));
            } else {
                x = x.add(attn);
                x = x.add(mlp(b, layerNorm(x, b.ln2w, b.ln2b), training));
            }
        }
        return layerNorm(x, lnfw, lnfb);
    }

    private NDArray attention(Block b, NDArray x, NDArray bias, boolean training) {
        long B = x.getShape().get(0), T = x.getShape().get(1), H = config.heads(), D = config.headDim();
        NDArray qkv = b.qkv.forward(x, training).reshape(B, T, H, 3 * D).transpose(0, 2, 1, 3);  // [B, H, T, 3D]
        NDList parts = qkv.split(3, 3);
        NDArray q = rope(parts.get(0)), k = rope(parts.get(1)), v = parts.get(2);
        return b.dense.forward(mergeHeads(attention(q, k, v, bias)), training);
    }

    private NDArray mlp(Block b, NDArray x, boolean training) {
        return b.down.forward(b.up.forward(x, training).getNDArrayInternal().gelu(), training);
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return hidden.getNDArrayInternal().linear(hidden, head, null).singletonOrThrow();
    }
}
