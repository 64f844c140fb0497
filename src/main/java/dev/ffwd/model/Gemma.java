package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.gguf.GgufFamily;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

/**
 * Gemma (1): embeddings × √hidden_size, RMSNorm with (1 + weight), GeGLU with the tanh GELU, head_dim from the
 * config, tied head. The activation is hidden_activation when given (HF ignores a legacy hidden_act then).
 * llama.cpp's "gemma" multiplies by the stored norm scales (so they are written as 1 + weight), sizes heads by
 * key_length and always uses the token embedding as its output matrix.
 */
public final class Gemma extends RmsDecoder {

    private static final Style STYLE = Style.gemma();

    public static final Arch ARCH = new Arch("gemma", List.of("gemma"), true, "Gemma",
            r -> parse(r, r.act(r.has("hidden_activation") ? "hidden_activation" : "hidden_act", "gelu_pytorch_tanh",
                    "gelu_pytorch_tanh", "gelu_new", "gelu_tanh", "gelu"), true, false, 0),
            Gemma::new, Set.of(Layout.Role.ATTN_IN, Layout.Role.ATTN_OUT), new Arch.Head("score", false),
            gguf("gemma", STYLE, false).normOffset(1).tiedHead(GgufFamily.TiedHead.ALWAYS).anyHeadDim().build());

    Gemma(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager, STYLE);
    }
}
