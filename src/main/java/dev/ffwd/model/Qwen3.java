package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

/**
 * Qwen3 (dense): per-head RMSNorm of q and k (q_norm, k_norm over head_dim) before RoPE; head_dim from the config,
 * which llama.cpp's "qwen3" graph takes as key_length.
 */
public final class Qwen3 extends RmsDecoder {

    private static final Style STYLE = Style.qwen3();

    public static final Arch ARCH = new Arch("qwen3", List.of("qwen3"), true, "Qwen3",
            r -> parse(r, r.act("hidden_act", "silu", "silu", "swish"), false, false, r.slidingWindow(false)),
            Qwen3::new, Set.of(Layout.Role.ATTN_IN, Layout.Role.ATTN_OUT), new Arch.Head("score", false),
            gguf("qwen3", STYLE, false).anyHeadDim().build());

    Qwen3(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager, STYLE);
    }
}
