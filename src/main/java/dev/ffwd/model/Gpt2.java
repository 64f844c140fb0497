package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.ffwd.FfwdException;
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
 * GPT-2 and its derivatives (DistilGPT2, …): learned positions, pre-LayerNorm blocks, Conv1D weights stored [in, out],
 * tanh GELU, head tied to wte. Checkpoints come with keys under "transformer." (GPT2LMHeadModel) or bare (GPT2Model);
 * the attn.bias / attn.masked_bias buffers some carry are not weights and are ignored. llama.cpp's "gpt2" takes the
 * Conv1D weights as [out, in], as the model holds them.
 */
public final class Gpt2 extends Transformer {

    /** GPT2LMHeadModel's prefix before the backbone's keys, and the HF path of the blocks. */
    private static final String PREFIX = "transformer.", LAYERS = PREFIX + "h";
    /** Each module named once: its HF path (in a block, after "transformer.h.N.") with its llama.cpp tensor name. */
    private static final Module WTE = Module.tokens(PREFIX + "wte"), WPE = Module.table(PREFIX + "wpe", "position_embd"),
            LN_F = Module.norm(PREFIX + "ln_f", "output_norm"), HEAD = Module.head("lm_head"), LN1 = Module.norm("ln_1", "attn_norm"),
            ATTN = Module.linear("attn.c_attn", "attn_qkv"), PROJ = Module.linear("attn.c_proj", "attn_output"),
            LN2 = Module.norm("ln_2", "ffn_norm"), FC = Module.linear("mlp.c_fc", "ffn_up"), OUT = Module.linear("mlp.c_proj", "ffn_down");

    public static final Arch ARCH = new Arch("gpt2", List.of("gpt2"), true, "GPT-2, DistilGPT2", Gpt2::parse, Gpt2::new,
            Set.of(ATTN_IN, ATTN_OUT), new Arch.Head("score", false),
            new GgufFamily.Builder("gpt2", LAYERS, List.of(WTE, WPE, LN_F, HEAD), List.of(LN1, ATTN, PROJ, LN2, FC, OUT)).layerNorm().build());

    private static ModelConfig parse(ModelConfig.Reader r) {
        int d = r.integer("n_embd"), heads = r.integer("n_head");
        if (d % heads != 0) throw new FfwdException(r.file() + ": n_embd " + d + " is not divisible by n_head " + heads);
        r.rejectTrue("scale_attn_by_inverse_layer_idx", "attention scaled by the layer index is not implemented");
        r.rejectTrue("add_cross_attention", "cross-attention is not implemented");
        if (!r.bool("scale_attn_weights", true))
            throw new FfwdException(r.file() + ": 'scale_attn_weights' = false is not supported: unscaled attention is not implemented");
        return r.builder().vocabSize(r.integer("vocab_size")).hidden(d).layers(r.integer("n_layer")).heads(heads)
                .intermediate(r.integer("n_inner", 4 * d)).maxPositions(r.integer("n_positions")).normEps(r.number("layer_norm_epsilon", 1e-5))
                .tieEmbeddings(r.bool("tie_word_embeddings", true)).biases(true, true)
                .act(r.act("activation_function", "gelu_new", "gelu_new", "gelu_pytorch_tanh", "gelu")).build();
    }

    private record Block(NDArray ln1w, NDArray ln1b, Linear attn, Linear proj, NDArray ln2w, NDArray ln2b, Linear fc, Linear out) {}

    private final NDArray wte, wpe;
    private final Block[] blocks;
    private final NDArray lnfw, lnfb;

    Gpt2(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager);
        long d = c.hidden(), f = c.intermediate();
        wte = weight(WTE.hf() + ".weight", c.vocabSize(), d);
        wpe = weight(WPE.hf() + ".weight", c.maxPositions(), d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = LAYERS + "." + i + ".";
            blocks[i] = new Block(norm(p + LN1.hf() + ".weight", d), zeroInit(p + LN1.hf() + ".bias", d),
                    conv1d(i, ATTN_IN, p + ATTN.hf(), 3 * d, d), conv1d(i, ATTN_OUT, p + PROJ.hf(), d, d),
                    norm(p + LN2.hf() + ".weight", d), zeroInit(p + LN2.hf() + ".bias", d),
                    conv1d(i, MLP_IN, p + FC.hf(), f, d), conv1d(i, MLP_OUT, p + OUT.hf(), d, f));
        }
        lnfw = norm(LN_F.hf() + ".weight", d);
        lnfb = zeroInit(LN_F.hf() + ".bias", d);
        head = c.tieEmbeddings() ? wte : weight(HEAD.hf() + ".weight", c.vocabSize(), d);
    }

    /** GPT2Model checkpoints store the same tensors without the "transformer." prefix. */
    @Override
    protected String alias(String name) {
        return name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : null;
    }

    @Override
    protected NDArray embed(NDArray ids, Context ctx, boolean training) {
        long s = ctx.bias().getShape().get(3);
        if (s > config.maxPositions())
            throw new FfwdException("sequence of " + s + " tokens exceeds n_positions " + config.maxPositions());
        return gather(wte, ids).add(gather(wpe, ctx.positions()));  // [B, T, d]
    }

    @Override
    protected NDArray block(int i, NDArray x, Context ctx, boolean training) {
        Block b = blocks[i];
        x = x.add(attention(i, b, layerNorm(x, b.ln1w, b.ln1b), ctx, training));
        return x.add(b.out.forward(activation(b.fc.forward(layerNorm(x, b.ln2w, b.ln2b), training)), training));
    }

    @Override
    protected NDArray finish(NDArray x) {
        return layerNorm(x, lnfw, lnfb);
    }

    private NDArray attention(int layer, Block b, NDArray x, Context ctx, boolean training) {
        long d = config.hidden(), h = config.heads();
        NDArray qkv = b.attn.forward(x, training);                          // [B, T, 3d]: q | k | v
        NDArray q = splitHeads(qkv.get(new NDIndex("..., :{}", d)), h);     // [B, H, T, D]
        NDArray k = splitHeads(qkv.get(new NDIndex("..., {}:{}", d, 2 * d)), h);
        NDArray v = splitHeads(qkv.get(new NDIndex("..., {}:", 2 * d)), h);
        return b.proj.forward(attend(layer, q, k, v, ctx), training);
    }
}
