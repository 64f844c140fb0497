package dev.ffwd.model;

/** The architectures ffwd implements, keyed by Hugging Face {@code model_type}. */
public enum Arch {
    GPT_NEOX("gpt_neox", true),
    LLAMA("llama", true),
    BERT("bert", false);

    public final String modelType;
    public final boolean causal;

    Arch(String modelType, boolean causal) {
        this.modelType = modelType;
        this.causal = causal;
    }

    /** Llama-family checkpoints that share Llama's layout. */
    static final java.util.Set<String> LLAMA_ALIASES = java.util.Set.of("llama", "mistral");
    static final java.util.Set<String> BERT_ALIASES = java.util.Set.of("bert");

    public static Arch of(String modelType) {
        if (modelType == null) return null;
        if (modelType.equals("gpt_neox")) return GPT_NEOX;
        if (LLAMA_ALIASES.contains(modelType)) return LLAMA;
        if (BERT_ALIASES.contains(modelType)) return BERT;
        return null;
    }

    public static String supported() {
        return "gpt_neox (Pythia), llama (Llama 2/3, SmolLM, TinyLlama; mistral without sliding window), bert (BERT, MiniLM, BGE, E5)";
    }
}
