package dev.ffwd.train;

import ai.djl.engine.Engine;
import ai.djl.training.GradientCollector;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Example;
import dev.ffwd.lora.LoraConfig;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.TensorStore;
import dev.ffwd.model.Bf16;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Precision;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A copy of a run's trainable setup in another process (a cluster executor): the same frozen base model, adapters
 * and head, whose values are overwritten with the driver's before each step. It computes the gradient of some of a
 * step's micro-batches with {@link Gradients#backward}, the same code a single process runs.
 */
public final class Replica implements AutoCloseable {

    /**
     * What an executor needs to rebuild the setup: the model folder (config.json and safetensors weights, each loaded into
     * the executor's memory; a path every worker can read; no tokenizer needed), the LoRA settings, the number of classes (0: language modelling)
     * and the driver's compute precision (FP32 or BF16; an executor without bf16 instructions computes in fp32).
     */
    public record Spec(String model, LoraConfig lora, int labels, Precision precision) implements Serializable {}

    /**
     * The gradient of a share of a step's micro-batches: loss contributions summed, gradients summed (trainer order), and
     * the compute seconds of the slowest share (what a step cannot be faster than; the rest of its time is overhead).
     */
    public record Partial(double loss, int micros, float[][] grads, double seconds) implements Serializable {
        public static final Partial NONE = new Partial(0, 0, null, 0);

        /** The sum of two partials; reuses {@code this}'s arrays (a partial is consumed by the sum). */
        public Partial plus(Partial o) {
            if (o.grads == null) return this;
            if (grads == null) return o;
            for (int i = 0; i < grads.length; i++) {
                float[] a = grads[i], b = o.grads[i];
                for (int j = 0; j < a.length; j++) a[j] += b[j];
            }
            return new Partial(loss + o.loss, micros + o.micros, grads, Math.max(seconds, o.seconds));
        }
    }

    private final Path dir;
    private final Transformer model;
    private final Objective objective;
    private final List<Param> params;

    private Replica(Path dir, Transformer model, Objective objective, List<Param> params) {
        this.dir = dir;
        this.model = model;
        this.objective = objective;
        this.params = params;
    }

    public static Replica load(Spec spec) {
        Path dir = Path.of(spec.model());
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new FfwdException(config + ": config.json not found on this executor");
        TensorStore store = SafetensorsReader.openModelDir(dir);
        NDManager manager = NDManager.newBaseManager();
        Transformer model;
        try {
            model = Pretrained.build(ModelConfig.load(config), store, manager);
            model.computeIn(spec.precision().on(Bf16.available()));
        } catch (RuntimeException e) {
            manager.close();
            store.close();
            throw e;
        }
        try {
            // values come from the driver each step; the loss chunk too (objective(cfg.memory()))
            Trainable t = Trainable.attach(model, spec.lora(), spec.labels(), 0, TrainConfig.Memory.LOSS_CHUNK);
            return new Replica(dir, model, t.objective(), t.params());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Sets the trainable tensors to {@code values} (the driver's, in trainer order) and returns the summed gradient
     * and loss of the micro-batches {@code micros} of step {@code step}, whose indices in the step are {@code index}.
     * {@code afterMicro} runs after each micro-batch (a test hook that injects faults mid-step). Gradients left over
     * from a failed earlier attempt are cleared first.
     */
    public Partial gradient(TrainConfig cfg, long step, float[][] values, int[] index, List<List<Example>> micros,
                            IntConsumer afterMicro) {
        if (values.length != params.size())
            throw new FfwdException(dir + ": the driver sent " + values.length + " trainable tensors, this replica has " + params.size());
        for (int i = 0; i < values.length; i++) {
            if (values[i].length != params.get(i).size())
                throw new FfwdException(params.get(i).name() + ": the driver sent " + values[i].length + " values, expected " + params.get(i).size());
            params.get(i).set(values[i]);
        }
        Optimizer.zeroGrad(params);
        long t0 = System.nanoTime();
        double loss = 0;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            for (int k = 0; k < micros.size(); k++) {
                loss += Gradients.backward(objective(cfg.memory()), cfg, step, index[k], micros.get(k), model.manager(), gc);
                afterMicro.accept(k);
            }
        }
        float[][] grads = new float[params.size()][];
        try (NDScope ignored = new NDScope()) {
            for (int i = 0; i < grads.length; i++) grads[i] = params.get(i).value().getGradient().toFloatArray();
        }
        Optimizer.zeroGrad(params);
        return new Partial(loss, micros.size(), grads, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * The objective with the driver's memory settings: its loss chunk (checkpointing reaches {@link Gradients#backward}
     * through the step's TrainConfig). Only the language-model losses (causal and masked) have a chunk, and they hold no trainable tensor.
     */
    Objective objective(TrainConfig.Memory memory) {
        if (objective instanceof LanguageModeling lm && lm.lossChunk() != memory.lossChunk())
            return new LanguageModeling(model, memory.lossChunk());
        if (objective instanceof MaskedLanguageModeling mlm && mlm.lossChunk() != memory.lossChunk())
            return new MaskedLanguageModeling(model, memory.lossChunk());
        return objective;
    }

    /** Trainable tensor names in trainer order (the driver checks they match its own). */
    public List<String> names() {
        return params.stream().map(Param::name).toList();
    }

    @Override
    public void close() {
        model.close();
    }
}
