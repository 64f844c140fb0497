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
 * Its state is plain and visible (Fast Forward must leave it untouched; checkpoints save it).
 */
public abstract class Optimizer {

    protected final double weightDecay;
    protected final double clipNorm;  // global gradient-norm clip; <= 0 disables
    protected long steps;
    protected final Map<String, NDArray[]> state = new LinkedHashMap<>();  // per param name: moment buffers

    protected Optimizer(double weightDecay, double clipNorm) {
        this.weightDecay = weightDecay;
        this.clipNorm = clipNorm;
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
            steps++;
            for (int i = 0; i < grads.length; i++) {
                Param p = params.get(i);
                NDArray[] s = state.computeIfAbsent(p.name(), k -> newState(p.value()));
                update(p.value(), gradScale == 1f ? grads[i] : grads[i].mul(gradScale), s, lr);
            }
            return norm;
        }
    }

    /** Clears accumulated gradients (NaN included). */
    public static void zeroGrad(List<Param> params) {
        for (Param p : params) JniUtils.zeroGrad((PtNDArray) p.value());
    }

    protected abstract NDArray[] newState(NDArray like);

    protected abstract void update(NDArray w, NDArray g, NDArray[] s, double lr);

    protected NDArray zerosLike(NDArray a) {
        NDArray z = a.zerosLike();
        NDScope.unregister(z);
        return z;
    }

    /** Frees the moment buffers (the run is over). */
    public void close() {
        state.values().forEach(bufs -> Arrays.stream(bufs).forEach(NDArray::close));
        state.clear();
    }

    public long steps() {
        return steps;
    }

    /** Moment buffers by parameter name (views of live state). */
    public Map<String, NDArray[]> buffers() {
        return state;
    }

    /**
     * A checkpoint's copy of the optimizer: its step count and, per parameter name, its moment buffers as float
     * arrays (a parameter never updated has none).
     */
    public record State(long steps, Map<String, float[][]> buffers) {}

    public State state() {
        Map<String, float[][]> copy = new LinkedHashMap<>();
        state.forEach((name, bufs) -> copy.put(name, Arrays.stream(bufs).map(NDArray::toFloatArray).toArray(float[][]::new)));
        return new State(steps, copy);
    }

    /** Restores {@link #state()} for {@code params}; a buffer of the wrong count or size is refused, naming the parameter. */
    public void restore(State s, List<Param> params) {
        close();
        steps = s.steps();
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
                fresh[i].set(bufs[i]);
            }
        }
    }
}
