package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.ffwd.FfwdException;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.TensorStore;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A pretrained transformer with frozen fp32 weights. Subclasses write the forward pass;
 * this class loads and checks weights, and provides the pieces they share (norms, attention, RoPE).
 */
public abstract class Transformer implements AutoCloseable {

    public final ModelConfig config;
    protected final NDManager manager;
    private final TensorStore store;
    private final Map<String, NDArray> params = new LinkedHashMap<>();
    private final Map<String, Linear> linears = new LinkedHashMap<>();
    private final Map<Long, NDArray[]> ropeCache = new HashMap<>();
    private final Map<Long, NDArray> causalCache = new HashMap<>();

    protected Transformer(ModelConfig config, TensorStore store, NDManager manager) {
        this.config = config;
        this.store = store;
        this.manager = manager;
    }

    /** Final hidden states [B, T, d] for token ids [B, T] (int64) and attention mask [B, T] (1 = token, 0 = pad). */
    public abstract NDArray hidden(NDArray ids, NDArray mask, boolean training);

    /** Next-token logits [B, T, V] from hidden states; only causal LMs have a head. */
    public NDArray logits(NDArray hidden) {
        throw new UnsupportedOperationException(config.modelType() + " has no language-model head");
    }

    /**
     * One vector per sequence [B, d]: the masked mean over tokens for encoders (sentence-transformers pooling),
     * the hidden state of the last real token for causal LMs.
     */
    public NDArray pool(NDArray hidden, NDArray mask) {
        NDArray m = mask.toType(DataType.FLOAT32, false);                          // [B, T]
        if (!config.causal()) {
            return hidden.mul(m.expandDims(2)).sum(new int[]{1}).div(m.sum(new int[]{1}, true));
        }
        NDArray last = m.sum(new int[]{1}).sub(1f).toType(DataType.INT64, false);   // [B]
        NDArray pick = last.oneHot((int) hidden.getShape().get(1));                 // [B, T]
        return hidden.mul(pick.expandDims(2)).sum(new int[]{1});
    }

    public NDManager manager() { return manager; }

    /** The linear layers, by HF module path, in model order: where adapters go. */
    public Map<String, Linear> linears() { return Collections.unmodifiableMap(linears); }

    /** All frozen parameters by HF tensor name (linear weights as currently set, after merge). */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> all = new LinkedHashMap<>(params);
        linears.forEach((n, l) -> all.put(n + ".weight", l.weight()));
        return all;
    }

    public long parameterCount() {
        return parameters().values().stream().mapToLong(a -> a.getShape().size()).sum();
    }

    // ---- loading ----------------------------------------------------------------------------

    /** Loads tensor {@code name}, checking its shape against what config.json implies. */
    protected NDArray param(String name, long... shape) {
        RawTensor t = find(name);
        if (!Arrays.equals(t.shape(), shape))
            throw new FfwdException(store.source() + ": tensor '" + t.name() + "' has shape " + Arrays.toString(t.shape())
                    + " but " + config.source().getFileName() + " implies " + Arrays.toString(shape));
        if (!t.dtype().isFloat())
            throw new FfwdException(store.source() + ": tensor '" + t.name() + "' has dtype " + t.dtype() + ", expected a float type");
        NDArray a = manager.create(t.asF32(), new Shape(shape), DataType.FLOAT32);
        params.put(name, a);
        return a;
    }

    protected Linear linear(String name, long out, long in, boolean bias) {
        Linear l = new Linear(name, param(name + ".weight", out, in), bias ? param(name + ".bias", out) : null);
        params.remove(name + ".weight");
        linears.put(name, l);
        return l;
    }

    /** A name prefix some checkpoints carry (e.g. "bert." for BertForMaskedLM); tried after the plain name. */
    protected String prefix() {
        return "";
    }

    private RawTensor find(String name) {
        if (store.contains(name)) return store.get(name);
        if (!prefix().isEmpty() && store.contains(prefix() + name)) return store.get(prefix() + name);
        throw new FfwdException(store.source() + ": missing tensor '" + name + "' required by "
                + config.source().getFileName() + " (model_type " + config.modelType() + ", " + config.layers() + " layers)");
    }

    // ---- shared math --------------------------------------------------------------------------

    protected NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
        return x.getNDArrayInternal().layerNorm(x, new Shape(w.getShape().get(0)), w, b, (float) config.normEps()).singletonOrThrow();
    }

    protected NDArray rmsNorm(NDArray x, NDArray w) {
        NDArray rms = x.square().mean(new int[]{-1}, true).add((float) config.normEps()).sqrt();
        return x.div(rms).mul(w);
    }

    /** [B, T, H·D] -> [B, H, T, D] */
    protected static NDArray splitHeads(NDArray x, long heads) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
    }

    /** [B, H, T, D] -> [B, T, H·D] */
    protected static NDArray mergeHeads(NDArray x) {
        Shape s = x.getShape();
        return x.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }

    /** softmax(q·kᵀ/√D + bias)·v. q [B, H, T, D]; k, v [B, H, S, D]; bias broadcasts to [B, H, T, S]. */
    protected static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray bias) {
        NDArray scores = Scalars.scale(q, 1 / Math.sqrt(q.getShape().get(3))).matMul(k.transpose(0, 1, 3, 2));
        return scores.add(bias).softmax(-1).matMul(v);
    }

    /** Additive attention bias [B, 1, T, T] (causal) or [B, 1, 1, T] (bidirectional): 0 where allowed, -1e9 elsewhere. */
    protected NDArray attentionBias(NDArray mask, boolean causal) {
        long b = mask.getShape().get(0), t = mask.getShape().get(1);
        NDArray pad = mask.toType(DataType.FLOAT32, false).sub(1f).mul(1e9f).reshape(b, 1, 1, t);
        return causal ? pad.add(causalBias(t)) : pad;
    }

    private NDArray causalBias(long t) {
        return causalCache.computeIfAbsent(t, n -> {
            float[] m = new float[(int) (n * n)];
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) m[(int) (i * n + j)] = -1e9f;
            return keep(manager.create(m, new Shape(n, n)));
        });
    }

    /** Rotate-half RoPE on the first {@code rotaryDim} features of x [B, H, T, D]. */
    protected NDArray rope(NDArray x) {
        int rd = config.rotaryDim();
        long t = x.getShape().get(2), d = x.getShape().get(3);
        NDArray[] cs = ropeTables(t);
        NDArray rot = rd == d ? x : x.get(new NDIndex("..., :{}", rd));
        NDArray x1 = rot.get(new NDIndex("..., :{}", rd / 2)), x2 = rot.get(new NDIndex("..., {}:", rd / 2));
        NDArray rotated = rot.mul(cs[0]).add(x2.neg().concat(x1, -1).mul(cs[1]));
        return rd == d ? rotated : rotated.concat(x.get(new NDIndex("..., {}:", rd)), -1);
    }

    /** cos and sin tables [T, rotaryDim] (frequencies repeated twice, as in HF's rotate_half convention). */
    private NDArray[] ropeTables(long t) {
        return ropeCache.computeIfAbsent(t, n -> {
            int rd = config.rotaryDim();
            double[] inv = new double[rd / 2];
            for (int i = 0; i < rd / 2; i++) inv[i] = scaleFrequency(1.0 / Math.pow(config.ropeTheta(), 2.0 * i / rd));
            int len = Math.toIntExact(n);
            float[] cos = new float[len * rd], sin = new float[len * rd];
            for (int p = 0; p < n; p++)
                for (int i = 0; i < rd; i++) {
                    double a = p * inv[i % (rd / 2)];
                    cos[p * rd + i] = (float) Math.cos(a);
                    sin[p * rd + i] = (float) Math.sin(a);
                }
            return new NDArray[]{keep(manager.create(cos, new Shape(n, rd))), keep(manager.create(sin, new Shape(n, rd)))};
        });
    }

    /** Llama 3.1's frequency-dependent RoPE scaling; identity without rope_scaling. */
    private double scaleFrequency(double f) {
        ModelConfig.Rope3 s = config.llama3Rope();
        if (s == null) return f;
        double wavelen = 2 * Math.PI / f;
        double lowWavelen = s.originalMaxPositions() / s.lowFreqFactor(), highWavelen = s.originalMaxPositions() / s.highFreqFactor();
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return f / s.factor();
        double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * f / s.factor() + smooth * f;
    }

    /** Takes a long-lived array out of any enclosing NDScope. */
    protected static NDArray keep(NDArray a) {
        NDScope.unregister(a);
        return a;
    }

    @Override
    public void close() {
        manager.close();
        store.close();
    }
}
