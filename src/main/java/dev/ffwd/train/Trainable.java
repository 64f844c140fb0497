package dev.ffwd.train;

import dev.ffwd.data.Example;
import dev.ffwd.flops.FlopCounter;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;

import java.util.ArrayList;
import java.util.List;

/**
 * What is trained on a model, assembled in one place: the adapters, the objective the task calls for (with the head a
 * classifier owns) and their parameters in trainer order. A fine-tuning ({@link FineTune}), a Spark executor's replica
 * ({@link Replica}) and the benchmarks all build it here, so they train the same thing.
 */
public record Trainable(Lora lora, Objective objective, List<Param> params) {

    public Trainable {
        params = List.copyOf(params);
    }

    /**
     * Adapters {@code lora} on {@code model} (seeded by {@code seed}) and the objective: language modelling when
     * {@code labels} is 0 (causal, or masked for an encoder), else a classifier over that many classes (head seeded by
     * {@code seed}); {@code lossChunk}: positions whose logits a language-model loss forms at once.
     */
    public static Trainable attach(Transformer model, LoraConfig lora, int labels, long seed, int lossChunk) {
        Lora l = Lora.attach(model, lora, seed);
        Objective o = objective(model, labels, seed, lossChunk);
        List<Param> params = new ArrayList<>(l.params());
        params.addAll(o.params());
        return new Trainable(l, o, params);
    }

    /** The objective alone, as {@link #attach} chooses it. */
    static Objective objective(Transformer model, int labels, long seed, int lossChunk) {
        if (labels > 0) return new Classification(model, labels, seed);
        return model.config.causal() ? new LanguageModeling(model, lossChunk) : new MaskedLanguageModeling(model, lossChunk);
    }

    /** A trainer of these parameters on {@code data}, with the optimizer {@code t} names. */
    public Trainer trainer(TrainConfig t, List<Example> data, FlopCounter flops) {
        return new Trainer(objective, params, t.newOptimizer(), t, data, flops);
    }

    /** Removes the adapters from the model and frees the head. */
    void release() {
        lora.detach();
        objective.params().forEach(p -> p.value().close());
    }
}
