package dev.ffwd.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Updates parameters in place from their accumulated gradients, then zeroes the gradients.
 * Its state is plain and visible (Fast Forward must leave it untouched; checkpoints save it): per-parameter buffers,
 * and named scalars for optimizers that adapt a global step size (Prodigy's d and its sums).
 * <p>
 * The contract has three hooks beyond a per-parameter update: {@link #apply} sees the whole step (the D-adaptation
 * family sums over every parameter before it updates any); {@link #scalars()} / {@link #restoreScalars} carry global
 * state through checkpoints; {@link #useModelWeights} / {@link #useTrainingWeights} switch the parameters between the
 * point gradients are taken at and the weights that are the model (they differ for Schedule-Free: y and x).
 */
public abstract class Optimizer {

    protected final double weightDecay;
    protected final double clipNorm;  // global gradient-norm clip; <= 0 disables
    private final double loraPlusRatio;  // LoRA+: lora_B's lr over lora_A's (1: plain LoRA)
    protected long steps;
    protected final Map<String, NDArray[]> state = new LinkedHashMap<>();  // per param name: its buffers

    protected Optimizer(double weightDecay, double clipNorm, double loraPlusRatio) {
        if (!(loraPlusRatio > 0) || !Double.isFinite(loraPlusRatio))
            throw new IllegalArgumentException("LoRA+ ratio must be positive, got " + loraPlusRatio);
        this.weightDecay = weightDecay;
        this.clipNorm = clipNorm;
        this.loraPlusRatio = loraPlusRatio;
    }

    /** One update with learning rate {@code lr} from the parameters' accumulated gradients. Returns the global gradient norm before clipping. */
    public double step(List<Param> params, double lr) {
        try (NDScope ignored = new NDScope()) {
            return step(params, params.stream().map(p -> p.value().getGradient()).toList(), lr);
        }
    }

    /** One update from {@code gradients} (one per parameter, e.g. summed over a cluster). Returns the global gradient norm before clipping. */
    public double step(List<Param> params, List<NDArray> gradients, double lr) {
        if (gradients.size() != params.size()) throw new IllegalArgumentException(gradients.size() + " gradients for " + params.size() + " parameters");
        try (NDScope ignored = new NDScope()) {
            NDArray[] grads = gradients.toArray(NDArray[]::new);
            double norm = 0;
            for (NDArray g : grads) norm += g.square().sum().getFloat();
            norm = Math.sqrt(norm);
            if (!Double.isFinite(norm)) return norm;  // the caller stops; nothing is applied
            float gradScale = clipNorm > 0 && norm > clipNorm ? (float) (clipNorm / (norm + 1e-6)) : 1f;
            if (gradScale != 1f) for (int i = 0; i < grads.length; i++) grads[i] = grads[i].mul(gradScale);
            useTrainingWeights(params);
            steps++;
            apply(params, grads, lr);
            return norm;
        }
    }

    /**
     * The whole step, after clipping: by default each parameter's {@link #update} at its own lr (LoRA+ scales
     * lora_B's). Optimizers whose step size depends on every parameter override this.
     */
    protected void apply(List<Param> params, NDArray[] grads, double lr) {
        for (int i = 0; i < grads.length; i++) {
            Param p = params.get(i);
            update(p.value(), grads[i], buffers(p), lr * lrFactor(p));
        }
    }

    /** LoRA+ (Hayou et al., 2024; PEFT's optimizers/loraplus.py): lora_B trains at lr × ratio, everything else at lr. */
    protected double lrFactor(Param p) {
        return p.name().contains("lora_B") ? loraPlusRatio : 1;
    }

    /** The buffers of {@code p}, made by {@link #newState} on its first update. */
    protected NDArray[] buffers(Param p) {
        return state.computeIfAbsent(p.name(), k -> newState(p.value()));
    }

    /** Clears accumulated gradients (NaN included). */
    public static void zeroGrad(List<Param> params) {
        for (Param p : params) JniUtils.zeroGrad((PtNDArray) p.value());
    }

    /** Fresh buffers for a parameter whose current value is {@code like} (some optimizers start from it). */
    protected abstract NDArray[] newState(NDArray like);

    /** One parameter's update (the default {@link #apply}); optimizers that override {@code apply} need not implement it. */
    protected void update(NDArray w, NDArray g, NDArray[] s, double lr) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " updates all parameters at once");
    }

    /** Named global scalars (none by default); a checkpoint stores them and {@link #restoreScalars} puts them back. */
    protected Map<String, Double> scalars() {
        return Map.of();
    }

    /** Scalar {@code key} of a restored state; a state without it was written by another optimizer. */
    protected static double scalar(Map<String, Double> s, String key) {
        Double v = s.get(key);
        if (v == null) throw new IllegalArgumentException("optimizer state lacks scalar '" + key + "'; was it written by another optimizer?");
        return v;
    }

    protected void restoreScalars(Map<String, Double> s) {
        if (!s.isEmpty()) throw new IllegalArgumentException("optimizer state has scalars " + s.keySet() + " that "
                + getClass().getSimpleName() + " does not keep; was it written by another optimizer?");
    }

    /**
     * Puts the weights that are the model into {@code params}: what evaluation, saved adapters, merges and Fast Forward
     * stages use. The same as the training weights, except for optimizers that take gradients elsewhere. Idempotent.
     */
    public void useModelWeights(List<Param> params) {}

    /** Puts the point where gradients are taken into {@code params} (after {@link #useModelWeights}); idempotent. */
    public void useTrainingWeights(List<Param> params) {}

    protected static NDArray owned(NDArray a) {
        NDScope.unregister(a);
        return a;
    }

    protected NDArray zerosLike(NDArray a) {
        return owned(a.zerosLike());
    }

    /** Frees the buffers (the run is over). */
    public void close() {
        state.values().forEach(bufs -> Arrays.stream(bufs).forEach(NDArray::close));
        state.clear();
    }

    public long steps() {
        return steps;
    }

    /** Buffers by parameter name (views of live state). */
    public Map<String, NDArray[]> buffers() {
        return state;
    }

    /**
     * A checkpoint's copy of the optimizer: its step count, per parameter name its buffers as float arrays (a parameter
     * never updated has none), and its named scalars.
     */
    public record State(long steps, Map<String, float[][]> buffers, Map<String, Double> scalars) {
        public State {
            scalars = scalars == null ? Map.of() : Map.copyOf(scalars);
        }
    }

    public State state() {
        Map<String, float[][]> copy = new LinkedHashMap<>();
        state.forEach((name, bufs) -> copy.put(name, Arrays.stream(bufs).map(NDArray::toFloatArray).toArray(float[][]::new)));
        return new State(steps, copy, scalars());
    }

    /** Restores {@link #state()} for {@code params}; a buffer of the wrong count or size is refused, naming the parameter. */
    public void restore(State s, List<Param> params) {
        close();
        steps = s.steps();
        restoreScalars(s.scalars());
        for (Param p : params) {
            float[][] bufs = s.buffers().get(p.name());
            if (bufs == null) continue;
            NDArray[] fresh = newState(p.value());
            state.put(p.name(), fresh);  // owned by the optimizer from here, so close() frees it on a refusal too
            if (bufs.length != fresh.length)
                throw new IllegalArgumentException("optimizer state of '" + p.name() + "' has " + bufs.length + " buffers, expected "
                        + fresh.length + "; was it written by another optimizer?");
            for (int i = 0; i < fresh.length; i++) {
                if (bufs[i].length != p.size())
                    throw new IllegalArgumentException("optimizer buffer " + i + " of '" + p.name() + "' has " + bufs[i].length
                            + " values, expected " + p.size());
                Param.write(fresh[i], bufs[i]);
            }
        }
    }
}
