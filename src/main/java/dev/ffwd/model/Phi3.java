package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.gguf.GgufFamily;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

/**
 * Phi-3 / Phi-4-mini: fused qkv_proj (q | k | v) and gate_up_proj (gate | up), no biases, partial rotary
 * (partial_rotary_factor). Its sliding_window applies whenever set; longrope scaling is refused by name.
 * llama.cpp's "phi3" keeps both fused projections, reads the window, and requires an "output" matrix even when tied.
 */
public final class Phi3 extends RmsDecoder {

    private static final Style STYLE = Style.phi3();

    public static final Arch ARCH = new Arch("phi3", List.of("phi3"), true, "Phi-3, Phi-3.5, Phi-4-mini",
            r -> parse(r, r.act("hidden_act", "silu", "silu", "swish"), false, false, r.slidingWindow(true)),
            Phi3::new, Set.of(Layout.Role.ATTN_IN, Layout.Role.ATTN_OUT), new Arch.Head("score", false),
            gguf("phi3", STYLE, false).tiedHead(GgufFamily.TiedHead.COPY).slidingWindowKey().build());

    Phi3(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager, STYLE);
    }
}
