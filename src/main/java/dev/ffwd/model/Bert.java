package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.ndarray.index.NDIndex;
import dev.ffwd.io.TensorStore;

/** BERT-family encoder (BERT, MiniLM, BGE, E5): learned positions, post-LayerNorm blocks, GELU; mean pooling. */
public final class Bert extends Transformer {

    private record Block(Linear q, Linear k, Linear v, Linear out, NDArray ln1w, NDArray ln1b,
                         Linear up, Linear down, NDArray ln2w, NDArray ln2b) {}

    private final NDArray wordEmb, posEmb, typeEmb, lnEw, lnEb;
    private final Block[] blocks;

    public Bert(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager);
        long d = c.hidden();
        wordEmb = param("embeddings.word_embeddings.weight", c.vocabSize(), d);
        posEmb = param("embeddings.position_embeddings.weight", c.maxPositions(), d);
        typeEmb = param("embeddings.token_type_embeddings.weight", c.typeVocabSize(), d);
        lnEw = param("embeddings.LayerNorm.weight", d);
        lnEb = param("embeddings.LayerNorm.bias", d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "encoder.layer." + i + ".";
            blocks[i] = new Block(linear(p + "attention.self.query", d, d, true), linear(p + "attention.self.key", d, d, true),
                    linear(p + "attention.self.value", d, d, true), linear(p + "attention.output.dense", d, d, true),
                    param(p + "attention.output.LayerNorm.weight", d), param(p + "attention.output.LayerNorm.bias", d),
                    linear(p + "intermediate.dense", c.intermediate(), d, true), linear(p + "output.dense", d, c.intermediate(), true),
                    param(p + "output.LayerNorm.weight", d), param(p + "output.LayerNorm.bias", d));
        }
    }

    @Override
    protected String prefix() {
        return "bert.";
    }

    @Override
    public NDArray hidden(NDArray ids, NDArray mask, boolean training) {
        long t = ids.getShape().get(1);
        NDArray x = ids.getNDArrayInternal().embedding(ids, wordEmb, SparseFormat.DENSE).singletonOrThrow()   // [B, T, d]
                .add(posEmb.get(new NDIndex(":{}", t)))                                         // [T, d]
                .add(typeEmb.get(0));                                                          // token type 0
        x = layerNorm(x, lnEw, lnEb);
        NDArray bias = attentionBias(mask, false);
        for (Block b : blocks) {
            x = layerNorm(x.add(attention(b, x, bias, training)), b.ln1w, b.ln1b);
            NDArray h = b.up.forward(x, training).getNDArrayInternal().gelu();
            x = layerNorm(x.add(b.down.forward(h, training)), b.ln2w, b.ln2b);
        }
        return x;
    }

    private NDArray attention(Block b, NDArray x, NDArray bias, boolean training) {
        long h = config.heads();
        NDArray q = splitHeads(b.q.forward(x, training), h);
        NDArray k = splitHeads(b.k.forward(x, training), h);
        NDArray v = splitHeads(b.v.forward(x, training), h);
        return b.out.forward(mergeHeads(attention(q, k, v, bias)), training);
    }
}
