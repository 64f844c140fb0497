package dev.ffwd.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.ffwd.FfwdException;
import dev.ffwd.model.Linear;
import dev.ffwd.model.Transformer;
import dev.ffwd.optim.Param;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** LoRA adapters attached to a model's linear layers: the trainable parameters, merge and unmerge. */
public final class Lora {

    /** PEFT's prefix for adapter keys (PeftModel → LoraModel → the HF model). */
    public static final String PEFT_PREFIX = "base_model.model.";

    public final LoraConfig config;
    private final Map<String, Linear> layers = new LinkedHashMap<>();  // module path -> layer carrying an adapter
    private final List<Param> params = new ArrayList<>();
    private final Map<String, NDArray> originalWeights = new LinkedHashMap<>();  // kept while merged
    private boolean merged;

    private Lora(LoraConfig config) {
        this.config = config;
    }

    /**
     * Attaches fresh adapters (the variant the config names) to every linear layer matching the config's targets. A is
     * Kaiming-uniform (bound 1/√in, as PEFT's kaiming_uniform_(a=√5)), B is zero, so the model's output is unchanged;
     * DoRA's magnitude starts at the row norms of W. Initialisation is seeded and independent of the engine.
     */
    public static Lora attach(Transformer model, LoraConfig config, long seed) {
        Lora lora = new Lora(config);
        NDManager m = model.manager();
        Random rng = new Random(seed);
        for (Linear l : model.linears().values()) {
            if (!config.matches(l.name)) continue;
            if (l.adapter() != null) throw new IllegalStateException(l.name + " already has an adapter");
            int r = config.rank(), in = (int) l.in(), out = (int) l.out();
            float bound = (float) (1 / Math.sqrt(in));
            float[] a = new float[r * in];
            for (int i = 0; i < a.length; i++) a[i] = (rng.nextFloat() * 2 - 1) * bound;
            LoraAdapter adapter = LoraAdapter.create(l, config, LoraAdapter.trainable(m.create(a, new Shape(r, in))),
                    LoraAdapter.trainable(m.zeros(new Shape(out, r))));
            l.setAdapter(adapter);
            lora.layers.put(l.name, l);
            lora.params.addAll(adapter.params(l.name));
        }
        if (lora.layers.isEmpty())
            throw new FfwdException("no linear layer of " + model.config.modelType() + " matches LoRA targets " + config.targets()
                    + "; e.g. " + String.join(", ", model.linears().keySet().stream().limit(4).toList()));
        return lora;
    }

    /**
     * Attaches adapters with {@code loaded}'s settings and values (PEFT keys), e.g. to merge a trained adapter.
     * Every expected key must be present with the right number of values.
     */
    public static Lora load(Transformer model, LoraConfig config, dev.ffwd.io.TensorStore tensors) {
        Lora lora = attach(model, config, 0);
        for (Param p : lora.params) {
            if (!tensors.contains(p.name()))
                throw new FfwdException(tensors.source() + ": adapter lacks tensor '" + p.name() + "'");
            dev.ffwd.io.RawTensor t = tensors.get(p.name());
            if (!java.util.Arrays.equals(t.shape(), p.value().getShape().getShape()))
                throw new FfwdException(tensors.source() + ": tensor '" + p.name() + "' has shape " + java.util.Arrays.toString(t.shape())
                        + " but the model needs " + p.value().getShape());
            p.set(t.toFloats());
        }
        return lora;
    }

    /** Removes the adapters (unmerging first), leaving the base model as loaded. */
    public void detach() {
        unmerge();
        for (Linear l : layers.values()) l.setAdapter(null);
        for (Param p : params) p.value().close();
    }

    /** Adapter tensors under PEFT's key names, in a fixed order. */
    public List<Param> params() {
        return Collections.unmodifiableList(params);
    }

    /** Folds s·B·A into W (DoRA: m·(W + sBA)/‖W + sBA‖) and disables the side path; inference then costs nothing extra. */
    public void merge() {
        if (merged) return;
        for (Linear l : layers.values()) {
            LoraAdapter ad = (LoraAdapter) l.adapter();
            NDArray w = ad.mergedWeight(l);
            originalWeights.put(l.name, l.weight());
            NDArray folded = w.stopGradient();
            NDScope.unregister(folded);
            l.replaceWeight(folded);
            l.setAdapter(new Frozen(ad));
        }
        merged = true;
    }

    /** Restores the frozen weights exactly (the originals are kept, not recomputed) and re-enables the adapters. */
    public void unmerge() {
        if (!merged) return;
        for (Linear l : layers.values()) {
            l.replaceWeight(originalWeights.remove(l.name));
            l.setAdapter(((Frozen) l.adapter()).adapter);
        }
        merged = false;
    }

    /** The adapter of a merged layer, parked: the layer computes with its merged weight alone. */
    private record Frozen(LoraAdapter adapter) implements Linear.Adapter {
        @Override
        public NDArray forward(Linear base, NDArray x, boolean training) {
            return base.frozen(x);
        }
    }
}
