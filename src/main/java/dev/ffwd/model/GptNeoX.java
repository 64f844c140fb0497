package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.ffwd.gguf.GgufFamily;
import dev.ffwd.gguf.GgufFamily.Module;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

import static dev.ffwd.model.Layout.Role.ATTN_IN;
import static dev.ffwd.model.Layout.Role.ATTN_OUT;
import static dev.ffwd.model.Layout.Role.MLP_IN;
import static dev.ffwd.model.Layout.Role.MLP_OUT;

/**
 * GPT-NeoX / Pythia: fused QKV, partial rotary, LayerNorm, exact GELU, optional parallel residual, untied head. In
 * llama.cpp's "gptneox" the fused qkv rows go from per head [q k v] to q | k | v, and a tied head is written out.
 */
public final class GptNeoX extends Transformer {

    /** The HF path of the blocks. */
    private static final String LAYERS = "gpt_neox.layers";
    /** Each module named once: its HF path (in a block, after "gpt_neox.layers.N.") with its llama.cpp tensor name. */
    private static final Module EMBED = Module.tokens("gpt_neox.embed_in"), NORM = Module.norm("gpt_neox.final_layer_norm", "output_norm"),
            HEAD = Module.head("embed_out"), LN1 = Module.norm("input_layernorm", "attn_norm"),
            QKV = Module.linear("attention.query_key_value", "attn_qkv").reordered(GgufFamily.Rows.QKV_SPLIT),
            DENSE = Module.linear("attention.dense", "attn_output"), LN2 = Module.norm("post_attention_layernorm", "ffn_norm"),
            UP = Module.linear("mlp.dense_h_to_4h", "ffn_up"), DOWN = Module.linear("mlp.dense_4h_to_h", "ffn_down");

    public static final Arch ARCH = new Arch("gpt_neox", List.of("gpt_neox"), true, "Pythia", GptNeoX::parse,
            GptNeoX::new, Set.of(ATTN_IN), new Arch.Head("score", false),
            new GgufFamily.Builder("gptneox", LAYERS, List.of(EMBED, NORM, HEAD), List.of(LN1, QKV, DENSE, LN2, UP, DOWN))
                    .layerNorm().parallelResidualKey().tiedHead(GgufFamily.TiedHead.COPY).build());

    private static ModelConfig parse(ModelConfig.Reader r) {
        int hidden = r.integer("hidden_size"), heads = r.integer("num_attention_heads");
        if (hidden % heads != 0)
            throw new dev.ffwd.FfwdException(r.file() + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        double pct = r.number("partial_rotary_factor", r.number("rotary_pct", 1.0));
        return r.builder().vocabSize(r.integer("vocab_size")).hidden(hidden).layers(r.integer("num_hidden_layers")).heads(heads)
                .intermediate(r.integer("intermediate_size")).maxPositions(r.integer("max_position_embeddings"))
                .normEps(r.number("layer_norm_eps", 1e-5))
                .rope(r.number("rotary_emb_base", r.number("rope_theta", 10000)), (int) (hidden / heads * pct), r.ropeScaling())
                .parallelResidual(r.bool("use_parallel_residual", true)).tieEmbeddings(r.bool("tie_word_embeddings", false))
                .biases(r.bool("attention_bias", true), true).act(r.act("hidden_act", "gelu", "gelu", "gelu_new")).build();
    }

    private record Block(NDArray ln1w, NDArray ln1b, NDArray ln2w, NDArray ln2b,
                         Linear qkv, Linear dense, Linear up, Linear down) {}

    private final NDArray embed;
    private final Block[] blocks;
    private final NDArray lnfw, lnfb;

    GptNeoX(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager);
        long d = c.hidden(), qd = (long) c.heads() * c.headDim();
        embed = weight(EMBED.hf() + ".weight", c.vocabSize(), d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = LAYERS + "." + i + ".";
            blocks[i] = new Block(
                    norm(p + LN1.hf() + ".weight", d), zeroInit(p + LN1.hf() + ".bias", d),
                    norm(p + LN2.hf() + ".weight", d), zeroInit(p + LN2.hf() + ".bias", d),
                    linear(i, ATTN_IN, p + QKV.hf(), 3 * qd, d, c.attentionBias()),
                    linear(i, ATTN_OUT, p + DENSE.hf(), d, qd, c.attentionBias()),
                    linear(i, MLP_IN, p + UP.hf(), c.intermediate(), d, true),
                    linear(i, MLP_OUT, p + DOWN.hf(), d, c.intermediate(), true));
        }
        lnfw = norm(NORM.hf() + ".weight", d);
        lnfb = zeroInit(NORM.hf() + ".bias", d);
        head = c.tieEmbeddings() ? embed : weight(HEAD.hf() + ".weight", c.vocabSize(), d);
    }

    @Override
    protected NDArray embed(NDArray ids, Context ctx, boolean training) {
        return gather(embed, ids);  // [B, T, d]
    }

    @Override
    protected NDArray block(int i, NDArray x, Context ctx, boolean training) {
        Block b = blocks[i];
        NDArray attn = attention(i, b, layerNorm(x, b.ln1w, b.ln1b), ctx, training);
        if (config.parallelResidual()) return x.add(attn).add(mlp(b, layerNorm(x, b.ln2w, b.ln2b), training));
        x = x.add(attn);
        return x.add(mlp(b, layerNorm(x, b.ln2w, b.ln2b), training));
    }

    @Override
    protected NDArray finish(NDArray x) {
        return layerNorm(x, lnfw, lnfb);
    }

    private NDArray attention(int layer, Block b, NDArray x, Context ctx, boolean training) {
        long B = x.getShape().get(0), T = x.getShape().get(1), H = config.heads(), D = config.headDim();
        NDArray qkv = b.qkv.forward(x, training).reshape(B, T, H, 3 * D).transpose(0, 2, 1, 3);  // [B, H, T, 3D]
        NDList parts = qkv.split(3, 3);
        return b.dense.forward(attendRotary(layer, parts.get(0), parts.get(1), parts.get(2), ctx), training);
    }

    private NDArray mlp(Block b, NDArray x, boolean training) {
        return b.down.forward(activation(b.up.forward(x, training)), training);
    }
}
