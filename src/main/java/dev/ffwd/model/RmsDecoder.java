package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.ffwd.FfwdException;
import dev.ffwd.gguf.GgufFamily;
import dev.ffwd.gguf.GgufFamily.Module;
import dev.ffwd.gguf.GgufFamily.Rows;
import dev.ffwd.io.TensorStore;

import java.util.ArrayList;
import java.util.List;

import static dev.ffwd.model.Layout.Role.ATTN_IN;
import static dev.ffwd.model.Layout.Role.ATTN_OUT;
import static dev.ffwd.model.Layout.Role.MLP_IN;
import static dev.ffwd.model.Layout.Role.MLP_OUT;

/**
 * The pre-norm decoder that Llama, Mistral, Qwen2/3, Gemma and Phi-3 share in Hugging Face's code: RMSNorm,
 * rotate-half RoPE, grouped-query attention, a gated MLP, and the same tensor names under "model.". The families
 * differ only in the switches of {@link Style}.
 */
abstract class RmsDecoder extends Transformer {

    /** Which attention projections have biases: all four as config.json's attention_bias says, q/k/v only, or none. */
    enum Bias { CONFIG, QKV, NONE }

    /**
     * What a family changes in the shared decoder. qkNorm: per-head RMSNorm of q and k before RoPE; fusedQkv /
     * fusedGateUp: one qkv_proj (q | k | v) and one gate_up_proj (gate | up); offsetNorms (Gemma): embeddings ×
     * √hidden and RMSNorm scales stored as offsets from 1.
     */
    protected record Style(Bias bias, boolean qkNorm, boolean fusedQkv, boolean fusedGateUp, boolean offsetNorms) {
        /** Llama's: separate projections, biases on all four attention projections exactly when attention_bias. */
        static Style llama() {
            return new Style(Bias.CONFIG, false, false, false, false);
        }

        /** Qwen2's: biases on q, k and v, never on o. */
        static Style qwen2() {
            return new Style(Bias.QKV, false, false, false, false);
        }

        static Style qwen3() {
            return new Style(Bias.CONFIG, true, false, false, false);
        }

        /** Phi-3's: qkv_proj and gate_up_proj, no biases. */
        static Style phi3() {
            return new Style(Bias.NONE, false, true, true, false);
        }

        static Style gemma() {
            return new Style(Bias.CONFIG, false, false, false, true);
        }
    }

    /**
     * The config.json keys every Llama-style decoder shares (Llama, Mistral, Qwen2/3, Gemma, Phi-3), with the family's
     * activation, default head tying and default attention bias.
     */
    static ModelConfig parse(ModelConfig.Reader r, ModelConfig.Act act, boolean tieDefault, boolean attentionBiasDefault, int slidingWindow) {
        int hidden = r.integer("hidden_size"), heads = r.integer("num_attention_heads");
        if (hidden % heads != 0 && !r.has("head_dim"))
            throw new FfwdException(r.file() + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        int headDim = r.integer("head_dim", hidden / heads);
        double partial = r.number("partial_rotary_factor", 1.0);
        if (!(partial > 0 && partial <= 1)) throw new FfwdException(r.file() + ": 'partial_rotary_factor' must be in (0, 1], got " + partial);
        return r.builder().vocabSize(r.integer("vocab_size")).hidden(hidden).layers(r.integer("num_hidden_layers")).heads(heads)
                .kvHeads(r.integer("num_key_value_heads", heads)).headDim(headDim).intermediate(r.integer("intermediate_size"))
                .maxPositions(r.integer("max_position_embeddings", 2048)).normEps(r.number("rms_norm_eps", 1e-6))
                .rope(r.number("rope_theta", 10000), (int) (headDim * partial), r.ropeScaling())
                .tieEmbeddings(r.bool("tie_word_embeddings", tieDefault))
                .biases(r.bool("attention_bias", attentionBiasDefault), r.bool("mlp_bias", false))
                .act(act).slidingWindow(slidingWindow).build();
    }

    /** The HF path of the blocks. */
    private static final String LAYERS = "model.layers";
    /**
     * Every module of the Llama-style families, each named once: its HF path (in a block, after "model.layers.N.")
     * with its llama.cpp tensor name (after "blk.N.").
     */
    private static final Module EMBED = Module.tokens("model.embed_tokens"), NORM = Module.norm("model.norm", "output_norm"),
            HEAD = Module.head("lm_head"), NORM1 = Module.norm("input_layernorm", "attn_norm"),
            NORM2 = Module.norm("post_attention_layernorm", "ffn_norm"), Q = Module.linear("self_attn.q_proj", "attn_q"),
            K = Module.linear("self_attn.k_proj", "attn_k"), V = Module.linear("self_attn.v_proj", "attn_v"),
            QKV = Module.linear("self_attn.qkv_proj", "attn_qkv"), Q_NORM = Module.norm("self_attn.q_norm", "attn_q_norm"),
            K_NORM = Module.norm("self_attn.k_norm", "attn_k_norm"), O = Module.linear("self_attn.o_proj", "attn_output"),
            GATE = Module.linear("mlp.gate_proj", "ffn_gate"), UP = Module.linear("mlp.up_proj", "ffn_up"),
            GATE_UP = Module.linear("mlp.gate_up_proj", "ffn_up"), DOWN = Module.linear("mlp.down_proj", "ffn_down");

    /**
     * The family's layout in llama.cpp's GGUF ({@code arch}: llama.cpp's architecture name): the modules of {@code s}
     * in the constructor's order, q and k rows permuted into llama.cpp's interleaved rotary pairs where
     * {@code ropePermuted} (its Llama graph; the others rotate halves, as HF does, and keep HF's rows).
     */
    static GgufFamily.Builder gguf(String arch, Style s, boolean ropePermuted) {
        List<Module> block = new ArrayList<>(List.of(NORM1));
        if (s.fusedQkv) block.add(QKV);
        else block.addAll(ropePermuted ? List.of(Q.reordered(Rows.ROPE_Q), K.reordered(Rows.ROPE_K), V) : List.of(Q, K, V));
        block.addAll(List.of(O, NORM2));
        block.addAll(s.fusedGateUp ? List.of(GATE_UP) : List.of(GATE, UP));
        block.add(DOWN);
        if (s.qkNorm) block.addAll(List.of(Q_NORM, K_NORM));
        return new GgufFamily.Builder(arch, LAYERS, List.of(EMBED, NORM, HEAD), block);
    }

    private record Block(NDArray norm1, NDArray norm2, Linear q, Linear k, Linear v, Linear qkv, NDArray qNorm, NDArray kNorm,
                         Linear o, Linear gate, Linear up, Linear gateUp, Linear down) {}

    private final Style style;
    private final NDArray embed;
    private final Block[] blocks;
    private final NDArray normF;

    protected RmsDecoder(ModelConfig c, TensorStore store, NDManager manager, Style s) {
        super(c, store, manager);
        this.style = s;
        long d = c.hidden(), hd = c.headDim(), qd = c.heads() * hd, kvd = c.kvHeads() * hd, f = c.intermediate();
        boolean mb = c.mlpBias(), qkvBias = s.bias == Bias.CONFIG ? c.attentionBias() : s.bias == Bias.QKV;
        boolean oBias = s.bias == Bias.CONFIG && c.attentionBias();
        embed = weight(EMBED.hf() + ".weight", c.vocabSize(), d);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = LAYERS + "." + i + ".";
            NDArray norm1 = rms(p + NORM1.hf() + ".weight", d), norm2 = rms(p + NORM2.hf() + ".weight", d);
            Linear q = null, k = null, v = null, qkv = null, gate = null, up = null, gateUp = null;
            if (s.fusedQkv) {
                qkv = linear(i, ATTN_IN, p + QKV.hf(), qd + 2 * kvd, d, qkvBias);
            } else {
                q = linear(i, ATTN_IN, p + Q.hf(), qd, d, qkvBias);
                k = linear(i, ATTN_IN, p + K.hf(), kvd, d, qkvBias);
                v = linear(i, ATTN_IN, p + V.hf(), kvd, d, qkvBias);
            }
            NDArray qNorm = s.qkNorm ? rms(p + Q_NORM.hf() + ".weight", hd) : null;
            NDArray kNorm = s.qkNorm ? rms(p + K_NORM.hf() + ".weight", hd) : null;
            Linear o = linear(i, ATTN_OUT, p + O.hf(), d, qd, oBias);
            if (s.fusedGateUp) {
                gateUp = linear(i, MLP_IN, p + GATE_UP.hf(), 2 * f, d, mb);
            } else {
                gate = linear(i, MLP_IN, p + GATE.hf(), f, d, mb);
                up = linear(i, MLP_IN, p + UP.hf(), f, d, mb);
            }
            Linear down = linear(i, MLP_OUT, p + DOWN.hf(), d, f, mb);
            blocks[i] = new Block(norm1, norm2, q, k, v, qkv, qNorm, kNorm, o, gate, up, gateUp, down);
        }
        normF = rms(NORM.hf() + ".weight", d);
        head = c.tieEmbeddings() ? embed : weight(HEAD.hf() + ".weight", c.vocabSize(), d);
    }

    /** An RMSNorm scale; Gemma stores it as an offset from 1, so a fresh one is 0. */
    private NDArray rms(String name, long d) {
        return style.offsetNorms ? zeroInit(name, d) : norm(name, d);
    }

    private NDArray normed(NDArray x, NDArray w) {
        return rmsNorm(x, style.offsetNorms ? w.add(1f) : w);
    }

    @Override
    protected NDArray embed(NDArray ids, Context ctx, boolean training) {
        NDArray x = gather(embed, ids);                                     // [B, T, d]
        if (style.offsetNorms) x = Scalars.scale(x, Math.sqrt(config.hidden()));  // HF rounds √d to the compute dtype, as this does
        return x;
    }

    @Override
    protected NDArray block(int i, NDArray x, Context ctx, boolean training) {
        Block b = blocks[i];
        x = x.add(attention(i, b, normed(x, b.norm1), ctx, training));
        return x.add(mlp(b, normed(x, b.norm2), training));
    }

    @Override
    protected NDArray finish(NDArray x) {
        return normed(x, normF);
    }

    private NDArray attention(int layer, Block b, NDArray x, Context ctx, boolean training) {
        long qd = (long) config.heads() * config.headDim(), kvd = (long) config.kvHeads() * config.headDim();
        NDArray q, k, v;
        if (b.qkv != null) {
            NDArray all = b.qkv.forward(x, training);                       // [B, T, qd + 2·kvd]
            q = all.get(new NDIndex("..., :{}", qd));
            k = all.get(new NDIndex("..., {}:{}", qd, qd + kvd));
            v = all.get(new NDIndex("..., {}:", qd + kvd));
        } else {
            q = b.q.forward(x, training);
            k = b.k.forward(x, training);
            v = b.v.forward(x, training);
        }
        q = splitHeads(q, config.heads());                                  // [B, H, T, D]
        k = splitHeads(k, config.kvHeads());                                // [B, KV, T, D]
        v = splitHeads(v, config.kvHeads());
        if (b.qNorm != null) {
            q = normed(q, b.qNorm);
            k = normed(k, b.kNorm);
        }
        return b.o.forward(attendRotary(layer, q, k, v, ctx), training);
    }

    private NDArray mlp(Block b, NDArray x, boolean training) {
        NDArray g, u;
        if (b.gateUp != null) {
            NDArray gu = b.gateUp.forward(x, training);                     // [B, T, 2f]
            g = gu.get(new NDIndex("..., :{}", config.intermediate()));
            u = gu.get(new NDIndex("..., {}:", config.intermediate()));
        } else {
            g = b.gate.forward(x, training);
            u = b.up.forward(x, training);
        }
        return b.down.forward(activation(g).mul(u), training);
    }
}
