package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.io.TensorStore;

import java.util.List;
import java.util.Set;

/**
 * Llama 2/3 (SmolLM, TinyLlama) and Mistral: the plain {@link RmsDecoder}, with optional attention/MLP biases. In
 * GGUF both are llama.cpp's "llama", whose converter permutes q/k rows for its interleaved rotary pairs and whose graph
 * sizes heads by key_length and takes Llama 3.1's rope scaling as rope_freqs.
 */
public final class Llama extends RmsDecoder {

    private static final Style STYLE = Style.llama();

    public static final Arch ARCH = new Arch("llama", List.of("llama", "mistral"), true,
            "Llama 2/3, SmolLM, TinyLlama, Mistral",
            r -> parse(r, r.act("hidden_act", "silu", "silu", "swish"), false, false,
                    r.slidingWindow(r.type().equals("mistral"))),
            Llama::new, Set.of(Layout.Role.ATTN_IN, Layout.Role.ATTN_OUT), new Arch.Head("score", false),
            gguf("llama", STYLE, true).anyHeadDim().ropeFreqs().build());

    Llama(ModelConfig c, TensorStore store, NDManager manager) {
        super(c, store, manager, STYLE);
    }
}
