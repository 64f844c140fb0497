package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.ffwd.FfwdException;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

import static dev.ffwd.model.Layout.Role.ATTN_IN;
import static dev.ffwd.model.Layout.Role.ATTN_OUT;
import static dev.ffwd.model.Layout.Role.MLP_IN;
import static dev.ffwd.model.Layout.Role.MLP_OUT;

/** BERT-family encoder (BERT, MiniLM, BGE, E5): learned positions, post-LayerNorm blocks, GELU; mean pooling. */
public final class Bert extends Transformer {

    /** BertFor* checkpoints (and PEFT adapters of BertForSequenceClassification) keep the encoder under this prefix. */
    private static final String TASK_PREFIX = "bert.";

    /** No GGUF layout: llama.cpp's BERT graph is an embedder, not the causal LM that GGUF export writes. */
    public static final Arch ARCH = new Arch("bert", List.of("bert"), false, "BERT, MiniLM, BGE, E5", Bert::parse, Bert::new,
            Set.of(ATTN_IN), new Arch.Head("classifier", true, TASK_PREFIX), null);

    private static ModelConfig parse(ModelConfig.Reader r) {
        int hidden = r.integer("hidden_size"), heads = r.integer("num_attention_heads");
        if (hidden % heads != 0)
            throw new FfwdException(r.file() + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        if (r.has("position_embedding_type") && !r.n().get("position_embedding_type").asText().equals("absolute"))
            r.reject("position_embedding_type", "only absolute position embeddings are implemented");
        return r.builder().vocabSize(r.integer("vocab_size")).hidden(hidden).layers(r.integer("num_hidden_layers")).heads(heads)
                .intermediate(r.integer("intermediate_size")).maxPositions(r.integer("max_position_embeddings", 512))
                .normEps(r.number("layer_norm_eps", 1e-12)).biases(true, true).act(r.act("hidden_act", "gelu", "gelu"))
                .typeVocabSize(r.integer("type_vocab_size", 2))
                .dropout(new ModelConfig.Dropout(r.number("hidden_dropout_prob", 0.1), r.number("attention_probs_dropout_prob", 0.1))).build();
    }

    private record Block(Linear q, Linear k, Linear v, Linear out, NDArray ln1w, NDArray ln1b,
                         Linear up, Linear down, NDArray ln2w, NDArray ln2b) {}

    private final NDArray wordEmb, posEmb, typeEmb, lnEw, lnEb;
    private final Block[] blocks;

    Bert(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager);
        long d = c.hidden();
        wordEmb = weight("embeddings.word_embeddings.weight", c.vocabSize(), d);
        wordEmbeddings = wordEmb;  // the masked-LM head is tied to them (all-MiniLM-L6-v2 ships no cls.predictions)
        posEmb = weight("embeddings.position_embeddings.weight", c.maxPositions(), d);
        typeEmb = weight("embeddings.token_type_embeddings.weight", c.typeVocabSize(), d);
        lnEw = norm("embeddings.LayerNorm.weight", d);
        lnEb = zeroInit("embeddings.LayerNorm.bias", d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "encoder.layer." + i + ".";
            blocks[i] = new Block(linear(i, ATTN_IN, p + "attention.self.query", d, d, true),
                    linear(i, ATTN_IN, p + "attention.self.key", d, d, true),
                    linear(i, ATTN_IN, p + "attention.self.value", d, d, true),
                    linear(i, ATTN_OUT, p + "attention.output.dense", d, d, true),
                    norm(p + "attention.output.LayerNorm.weight", d), zeroInit(p + "attention.output.LayerNorm.bias", d),
                    linear(i, MLP_IN, p + "intermediate.dense", c.intermediate(), d, true),
                    linear(i, MLP_OUT, p + "output.dense", d, c.intermediate(), true),
                    norm(p + "output.LayerNorm.weight", d), zeroInit(p + "output.LayerNorm.bias", d));
        }
    }

    @Override
    protected String alias(String name) {
        return TASK_PREFIX + name;
    }

    @Override
    protected NDArray embed(NDArray ids, Context ctx, boolean training) {
        long s = ctx.bias().getShape().get(3);
        if (s > config.maxPositions())
            throw new FfwdException("sequence of " + s + " tokens exceeds max_position_embeddings " + config.maxPositions());
        NDArray x = gather(wordEmb, ids)                                    // [B, T, d]
                .add(gather(posEmb, ctx.positions()))                       // [B, T, d]
                .add(typeEmb.get(0));                                      // token type 0
        return Ops.dropout(layerNorm(x, lnEw, lnEb), hiddenDropout(training));
    }

    @Override
    protected NDArray block(int i, NDArray x, Context ctx, boolean training) {
        Block b = blocks[i];
        double drop = hiddenDropout(training);
        x = layerNorm(x.add(Ops.dropout(attention(b, x, ctx, training), drop)), b.ln1w, b.ln1b);
        NDArray h = activation(b.up.forward(x, training));
        return layerNorm(x.add(Ops.dropout(b.down.forward(h, training), drop)), b.ln2w, b.ln2b);
    }

    /** Post-norm: the last block's output is the final hidden state. */
    @Override
    protected NDArray finish(NDArray x) {
        return x;
    }

    /** HF's hidden_dropout_prob, in training only. */
    private double hiddenDropout(boolean training) {
        return training ? config.dropout().hidden() : 0;
    }

    private NDArray attention(Block b, NDArray x, Context ctx, boolean training) {
        long h = config.heads();
        NDArray q = splitHeads(b.q.forward(x, training), h);
        NDArray k = splitHeads(b.k.forward(x, training), h);
        NDArray v = splitHeads(b.v.forward(x, training), h);
        double drop = training ? config.dropout().attention() : 0;  // on the attention probabilities
        return b.out.forward(mergeHeads(scaledDotProduct(q, k, v, ctx.bias(), drop)), training);
    }
}
