package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

/** Llama 2/3 (SmolLM, TinyLlama) and Mistral: the plain {@link RmsDecoder}, with optional attention/MLP biases. */
public final class Llama extends RmsDecoder {

    public static final Arch ARCH = new Arch("llama", List.of("llama", "mistral"), true,
            "Llama 2/3, SmolLM, TinyLlama, Mistral",
            r -> parse(r, r.act("hidden_act", "silu", "silu", "swish"), false, false,
                    r.slidingWindow(r.type().equals("mistral"))),
            Llama::new, Set.of(Layout.Role.ATTN_IN, Layout.Role.ATTN_OUT), new Arch.Head("score", false));

    Llama(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager, Style.llama());
    }
}
