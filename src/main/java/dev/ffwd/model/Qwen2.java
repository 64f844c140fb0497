package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

/**
 * Qwen2 / Qwen2.5: biases on q, k and v but not on o; sliding window only with use_sliding_window. llama.cpp's
 * "qwen2" graph rotates halves as HF does and assumes head_dim = hidden / heads.
 */
public final class Qwen2 extends RmsDecoder {

    private static final Style STYLE = Style.qwen2();

    public static final Arch ARCH = new Arch("qwen2", List.of("qwen2"), true, "Qwen2, Qwen2.5",
            r -> parse(r, r.act("hidden_act", "silu", "silu", "swish"), false, true, r.slidingWindow(false)),
            Qwen2::new, Set.of(Layout.Role.ATTN_IN, Layout.Role.ATTN_OUT), new Arch.Head("score", false),
            gguf("qwen2", STYLE, false).build());

    Qwen2(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager, STYLE);
    }
}
