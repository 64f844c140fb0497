package dev.ffwd.model;

import ai.djl.ndarray.NDManager;
import dev.ffwd.gguf.GgufFamily;
import dev.ffwd.io.TensorStore;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A model family: the Hugging Face {@code model_type}s it covers, how it reads config.json, how it builds its
 * forward pass, the few choices that are not in the weights (default LoRA roles, classification head), and its
 * layout in llama.cpp's GGUF. Each family declares one in its own file; {@link #ALL} lists them.
 */
public final class Arch {

    public interface Parser { ModelConfig parse(ModelConfig.Reader r); }

    /** Builds the model; with a null store and manager it only records the {@link Layout}. */
    public interface Builder { Transformer build(ModelConfig c, TensorStore store, NDManager manager); }

    /**
     * HF's sequence-classification class: its head's module name, whether the head has a bias, and the prefix the
     * class puts before the backbone's module names where ffwd's names lack it ("bert." for
     * BertForSequenceClassification; empty where ffwd's names already are those of the task classes).
     */
    public record Head(String name, boolean bias, String backbonePrefix) {
        public Head {
            if (name.isEmpty()) throw new IllegalArgumentException("the head needs a module name");
            if (!backbonePrefix.isEmpty() && !backbonePrefix.endsWith("."))
                throw new IllegalArgumentException("backbone prefix '" + backbonePrefix + "' must end with '.'");
        }

        /** A head whose class keeps ffwd's module names. */
        public Head(String name, boolean bias) {
            this(name, bias, "");
        }
    }

    public final String name;
    public final List<String> modelTypes;
    public final boolean causal;
    final Parser parser;
    final Builder builder;
    private final Set<Layout.Role> defaultRoles;
    public final Head classifier;
    /** llama.cpp's names and row orders for the family's weights (GGUF export); null where llama.cpp has no graph for it. */
    public final GgufFamily gguf;
    private final String examples;

    public Arch(String name, List<String> modelTypes, boolean causal, String examples, Parser parser, Builder builder,
                Set<Layout.Role> defaultRoles, Head classifier, GgufFamily gguf) {
        if (modelTypes.isEmpty()) throw new IllegalArgumentException(name + ": no model_type");
        if (defaultRoles.isEmpty()) throw new IllegalArgumentException(name + ": no default LoRA roles");
        this.name = name;
        this.modelTypes = List.copyOf(modelTypes);
        this.causal = causal;
        this.examples = examples;
        this.parser = parser;
        this.builder = builder;
        this.defaultRoles = Set.copyOf(defaultRoles);
        this.classifier = classifier;
        this.gguf = gguf;
    }

    /** Every family ffwd implements. */
    public static final List<Arch> ALL = List.of(GptNeoX.ARCH, Llama.ARCH, Qwen2.ARCH, Qwen3.ARCH, Phi3.ARCH, Gemma.ARCH,
            Gpt2.ARCH, Bert.ARCH);

    public static Arch of(String modelType) {
        if (modelType == null) return null;
        for (Arch a : ALL) if (a.modelTypes.contains(modelType)) return a;
        return null;
    }

    public static String supported() {
        return String.join(", ", ALL.stream().map(a -> String.join("/", a.modelTypes) + " (" + a.examples + ")").toList());
    }

    public Transformer build(ModelConfig c, TensorStore store, NDManager manager) {
        if (c.arch() != this) throw new IllegalArgumentException(c.modelType() + " is not " + name);
        return builder.build(c, store, manager);
    }

    /** The weights {@code c} implies, without loading anything. */
    public Layout layout(ModelConfig c) {
        return build(c, null, null).layout();
    }

    /** LoRA targets used when the user names none: the family's default roles, as PEFT target names. */
    public List<String> defaultTargets() {
        return layout().targets(defaultRoles);
    }

    /**
     * The weights of a minimal one-block configuration of this family, untied and without optional biases: its tensor
     * and module names, which do not depend on the sizes.
     */
    public Layout layout() {
        return layout(ModelConfig.builder(Path.of(name), this, modelTypes.get(0)).vocabSize(8).hidden(8).layers(1).heads(2).kvHeads(1)
                .intermediate(8).maxPositions(8).normEps(1e-5).rope(10000, 4, null).typeVocabSize(1).build());
    }

    @Override
    public String toString() {
        return name;
    }
}
