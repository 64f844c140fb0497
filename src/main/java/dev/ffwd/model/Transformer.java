package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.ffwd.FfwdException;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.TensorStore;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A pretrained transformer with frozen weights: fp32, or 2 bytes per value for the matrices of an F16/BF16 checkpoint
 * (upcast per use, see {@link Fp32}). A family's constructor declares every weight (name, shape, role)
 * through {@link #weight}, {@link #norm}, {@link #linear} and friends, and its {@link #forward} is the HF computation.
 * Built without a tensor store, the constructor only records the {@link Layout}: that is how FLOP counts, benchmark
 * checkpoints and LoRA target names are derived from the same declaration.
 */
public abstract class Transformer implements AutoCloseable {

    public final ModelConfig config;
    protected final NDManager manager;  // null when only the layout is recorded
    private final TensorStore store;     // null when only the layout is recorded
    private final List<Layout.Tensor> declared = new ArrayList<>();
    private final List<Layout.Module> modules = new ArrayList<>();
    private final Map<String, NDArray> params = new LinkedHashMap<>();
    private final Map<String, Linear> linears = new LinkedHashMap<>();
    private final Set<String> conv1d = new HashSet<>();
    private final Map<Long, NDArray[]> ropeCache = new HashMap<>();
    private final Map<Long, NDArray> causalCache = new HashMap<>();
    private final Map<Long, NDArray> attentionScales = new HashMap<>();  // 0-d fp32 1/√d by head size d (Fused)
    private NDArray rotaryDim;                                            // 0-d int64 rotaryDim (Fused), made on first use
    /** The LM head [V, d] (possibly the embedding itself); null for encoders. */
    protected NDArray head;
    /** The word embeddings [V, d] of a family that ties a masked-LM head to them (encoders); null otherwise. */
    protected NDArray wordEmbeddings;

    protected Transformer(ModelConfig config, TensorStore store, NDManager manager) {
        if ((store == null) != (manager == null)) throw new IllegalArgumentException("store and manager go together");
        this.config = config;
        this.store = store;
        this.manager = manager;
    }

    /**
     * What a forward pass needs besides the token ids. bias [B, 1, T, S] is additive (0 allowed, -1e9 masked);
     * positions [B, T] count real tokens only, so that a left-padded sequence sees the positions it has alone;
     * cos/sin [B, 1, T, rotaryDim] are the RoPE tables at those positions (null without rotary);
     * cache holds the keys and values of earlier positions (null: none).
     */
    protected record Context(NDArray bias, NDArray positions, NDArray cos, NDArray sin, KvCache cache) {}

    /** The family's forward pass before the blocks: the residual stream [B, T, d] for ids [B, T] (embeddings, their norm). */
    protected abstract NDArray embed(NDArray ids, Context ctx, boolean training);

    /** Block {@code layer} of the family's forward pass: residual stream [B, T, d] -> [B, T, d]. */
    protected abstract NDArray block(int layer, NDArray x, Context ctx, boolean training);

    /** The family's forward pass after the blocks: final hidden states [B, T, d] (the final norm, if any). */
    protected abstract NDArray finish(NDArray x);

    /** Set while {@link #backward} runs with activation checkpointing: the next training forward records into it. */
    private ActivationCheckpoint checkpoint;

    /**
     * The HF computation: final hidden states [B, T, d] for ids [B, T]. In training, each block's dropout masks come
     * from the engine's generator reseeded per block from one draw of it ({@link #blockSeed}), so that a block can be
     * recomputed with the same masks (activation checkpointing) while a forward pass still follows the caller's seed.
     */
    private NDArray forward(NDArray ids, Context ctx, boolean training) {
        long seed = training ? blockSeed(ids.getManager()) : 0;
        if (training && checkpoint != null) {
            ActivationCheckpoint c = checkpoint;
            checkpoint = null;  // one forward per backward: a second one in the same loss runs plainly
            return c.forward(ids, ctx, seed);
        }
        // Each part in its own scope: a temporary that backward needs is kept alive by autograd's own reference, and every
        // other one is freed as soon as its part ends, not when the whole step's scope closes (the Pythia-70m step's peak
        // RSS fell from 1,253 to 1,090 MB: docs/performance.md, "Peak memory").
        NDArray x = scoped(() -> embed(ids, ctx, training));
        for (int i = 0; i < config.layers(); i++) {
            NDArray in = x;
            int layer = i;
            x = scoped(() -> block(layer, in, ctx, training, seed));
            if (x != in) in.close();  // the residual stream below: autograd holds it where backward needs it
        }
        NDArray out = x;
        return scoped(() -> finish(out));
    }

    /** Runs {@code f} in its own NDScope, so that everything it creates but its result is freed when it returns. */
    static NDArray scoped(Supplier<NDArray> f) {
        NDArray out;
        try (NDScope ignored = new NDScope()) {
            out = f.get();
            if (out != null) NDScope.unregister(out);
        }
        if (out != null) NDScope.register(out);
        return out;
    }

    /** One draw of the engine's generator: the base of the per-block dropout seeds of a training forward. */
    private static long blockSeed(NDManager m) {
        try (NDArray r = m.randomInteger(0, Long.MAX_VALUE, new Shape(1), DataType.INT64)) {
            return r.getLong(0);
        }
    }

    /** Block {@code layer} in training with its dropout generator seeded from {@code seed}; plain in evaluation. */
    NDArray block(int layer, NDArray x, Context ctx, boolean training, long seed) {
        if (training) JniUtils.setSeed(seed + layer);
        return block(layer, x, ctx, training);
    }

    /**
     * Backpropagates {@code loss}, a scalar that {@code loss} computes from one training forward pass of this model,
     * into the trainable tensors' gradients (inside {@code gc}); returns its value. With {@code checkpointActivations}
     * the forward keeps only each block's input and each block is recomputed during backward
     * ({@link ActivationCheckpoint}): the same gradients up to fp32 rounding, for about one more forward pass of the blocks.
     */
    public float backward(Supplier<NDArray> loss, GradientCollector gc, boolean checkpointActivations) {
        if (!checkpointActivations) {
            NDArray l = loss.get();
            gc.backward(l);
            return l.getFloat();
        }
        ActivationCheckpoint c = new ActivationCheckpoint(this);
        checkpoint = c;
        try {
            NDArray l = loss.get();
            if (!c.recorded()) throw new IllegalStateException("the loss did not run a training forward pass of the model");
            gc.backward(l);  // the head and the loss, down to the last block's output
            c.backward(gc);  // then block by block
            return l.getFloat();
        } finally {
            checkpoint = null;
        }
    }

    /** Whether block {@code layer} holds a trainable tensor (an adapter on one of its linear layers). */
    boolean adapted(int layer) {
        for (Layout.Module m : modules)
            if (m.layer() == layer && linears.get(m.name()).adapter() != null) return true;
        return false;
    }

    /** Final hidden states [B, T, d] for token ids [B, T] (int64) and attention mask [B, T] (1 = token, 0 = pad). */
    public NDArray hidden(NDArray ids, NDArray mask, boolean training) {
        return forward(ids, context(mask, ids.getShape().get(1), null), training);
    }

    /**
     * Incremental inference: hidden states [B, T, d] of {@code ids} [B, T] that follow the positions already in
     * {@code cache}, whose keys and values are extended. mask [B, S] covers the cached and the new positions.
     */
    public NDArray hidden(NDArray ids, NDArray mask, KvCache cache) {
        if (cache.layers() != config.layers()) throw new IllegalArgumentException("cache has " + cache.layers() + " layers");
        if (mask.getShape().get(1) != cache.length() + ids.getShape().get(1))
            throw new IllegalArgumentException("mask covers " + mask.getShape().get(1) + " positions, cache and ids " + (cache.length() + ids.getShape().get(1)));
        return forward(ids, context(mask, ids.getShape().get(1), cache), false);
    }

    /** Next-token logits [B, T, V] from hidden states; only causal LMs have a head. */
    public NDArray logits(NDArray hidden) {
        try (Fp32 h = head()) {
            return logits(hidden, h);
        }
    }

    /** Logits [.., V] of hidden states [.., d] with a head already in fp32 (to upcast a 2-byte head once for many calls). */
    public static NDArray logits(NDArray hidden, Fp32 head) {
        return Ops.linear(hidden, head.array(), null);
    }

    /** The frozen LM head [V, d] in fp32; only causal LMs have one. */
    public Fp32 head() {
        if (head == null) throw new UnsupportedOperationException(config.modelType() + " has no language-model head");
        return Fp32.of(head);
    }

    /**
     * The frozen word embeddings [V, d] in fp32, as the tied head of masked language modelling (logits h·Eᵀ, as
     * BertForMaskedLM's decoder, which shares them); only encoders have one.
     */
    public Fp32 wordEmbeddings() {
        if (wordEmbeddings == null) throw new UnsupportedOperationException(config.modelType() + " has no masked-language-model head");
        return Fp32.of(wordEmbeddings);
    }

    /**
     * One vector per sequence [B, d]: the masked mean over tokens for encoders (sentence-transformers pooling),
     * the hidden state of the last real token for causal LMs (with left or right padding).
     */
    public NDArray pool(NDArray hidden, NDArray mask) {
        NDArray m = mask.toType(DataType.FLOAT32, false);                          // [B, T]
        if (!config.causal()) {
            return hidden.mul(m.expandDims(2)).sum(new int[]{1}).div(m.sum(new int[]{1}, true));
        }
        long t = hidden.getShape().get(1);
        NDArray last = m.mul(m.getManager().arange(1f, t + 1f)).argMax(1);          // [B]: index of the last real token
        NDArray pick = last.oneHot((int) t);                                         // [B, T]
        return hidden.mul(pick.expandDims(2)).sum(new int[]{1});
    }

    public NDManager manager() { return manager; }

    /** The declared weights and linear layers. */
    public Layout layout() { return new Layout(declared, modules); }

    /** The linear layers, by HF module path, in model order: where adapters go. */
    public Map<String, Linear> linears() { return Collections.unmodifiableMap(linears); }

    /** All frozen parameters by HF tensor name and in the checkpoint's layout (linear weights as currently set, after merge). */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> all = new LinkedHashMap<>(params);
        linears.forEach((n, l) -> all.put(n + ".weight", conv1d.contains(n) ? l.weight().transpose() : l.weight()));  // Conv1D: back to [in, out]
        return all;
    }

    /**
     * Makes the frozen linear products of the blocks compute in {@code p}, FP32 or BF16 as {@link Precision#on}
     * resolves a choice: BF16 casts each frozen weight once to a bf16 handle ({@link Bf16}), which replaces its fp32
     * or F16 copy; FP32 leaves the model as loaded. Call it before adapters attach: DoRA's magnitude starts at the
     * norms of the weights as held.
     */
    public void computeIn(Precision p) {
        if (p == Precision.AUTO) throw new IllegalArgumentException("resolve auto to fp32 or bf16 first (Precision.on)");
        if (p == Precision.BF16) linears.values().forEach(Linear::toBf16);
    }

    public long parameterCount() {
        return params.values().stream().mapToLong(a -> a.getShape().size()).sum()
                + linears.values().stream().mapToLong(l -> l.weight().getShape().size()).sum();
    }

    // ---- declaring and loading weights ---------------------------------------------------------

    /** A weight initialised N(0, 0.02) in benchmark checkpoints (embeddings, heads). */
    protected NDArray weight(String name, long... shape) {
        return param(name, Layout.Init.NORMAL, shape);
    }

    /** A normalisation scale (1 in a fresh model). */
    protected NDArray norm(String name, long d) {
        return param(name, Layout.Init.ONE, d);
    }

    /** A normalisation bias, or a scale stored as an offset from 1 (Gemma): 0 in a fresh model. */
    protected NDArray zeroInit(String name, long d) {
        return param(name, Layout.Init.ZERO, d);
    }

    /** A linear layer {@code name} ({@code name.weight} [out, in], optional {@code name.bias} [out]) in block {@code layer}. */
    protected Linear linear(int layer, Layout.Role role, String name, long out, long in, boolean bias) {
        return declareLinear(new Layout.Module(name, layer, role, in, out, bias, false));
    }

    /** GPT-2's Conv1D: y = x·W + b with W stored [in, out]; held transposed, as a linear layer. */
    protected Linear conv1d(int layer, Layout.Role role, String name, long out, long in) {
        return declareLinear(new Layout.Module(name, layer, role, in, out, true, true));
    }

    private Linear declareLinear(Layout.Module m) {
        modules.add(m);
        NDArray w = m.conv1d() ? param(m.name() + ".weight", Layout.Init.NORMAL, m.in(), m.out())
                : param(m.name() + ".weight", Layout.Init.NORMAL, m.out(), m.in());
        NDArray b = m.bias() ? param(m.name() + ".bias", Layout.Init.ZERO, m.out()) : null;
        if (store == null) return null;
        params.remove(m.name() + ".weight");
        if (m.conv1d()) {
            NDArray t = w.transpose().duplicate();  // [in, out] -> [out, in], contiguous
            w.close();
            w = t;
            conv1d.add(m.name());
        }
        Linear l = new Linear(m.name(), w, b);
        linears.put(m.name(), l);
        return l;
    }

    /** Records tensor {@code name}; when loading, reads it and checks its shape against what config.json implies. */
    private NDArray param(String name, Layout.Init init, long... shape) {
        declared.add(new Layout.Tensor(name, shape, init));
        if (store == null) return null;
        RawTensor t = find(name);
        if (!Arrays.equals(t.shape(), shape))
            throw new FfwdException(store.source() + ": tensor '" + t.name() + "' has shape " + Arrays.toString(t.shape())
                    + " but " + config.source().getFileName() + " implies " + Arrays.toString(shape));
        if (!t.dtype().isFloat())
            throw new FfwdException(store.source() + ": tensor '" + t.name() + "' has dtype " + t.dtype() + ", expected a float type");
        NDArray a = shape.length == 2 ? half(t) : null;
        if (a == null) a = manager.create(t.asF32(), new Shape(shape), DataType.FLOAT32);
        boolean mapped = t.dtype() == dev.ffwd.io.DType.F32 || (t.dtype() == dev.ffwd.io.DType.F16 && a.getDataType() == DataType.FLOAT16);
        if (mapped) a = owned(a);
        store.release(t.name());  // copied or converted: the file's pages are not needed
        params.put(name, a);
        return a;
    }

    /**
     * A copy of {@code mapped}, which views the file's pages, in memory libtorch allocates (aligned, on huge pages with
     * {@code THP_MEM_ALLOC_ENABLE}): decoding streams every weight once per token (docs/performance.md, "Decoding
     * against llama.cpp"). One tensor at a time is held twice while loading.
     */
    private static NDArray owned(NDArray mapped) {
        NDArray copy = mapped.duplicate();
        mapped.close();
        return copy;
    }

    /**
     * A 2-D weight of an F16 or BF16 checkpoint held at 2 bytes per value, as F16 (BF16 NDArrays abort the JVM); null
     * for fp32/fp64 files, and for a BF16 tensor beyond F16's range, which is then held in fp32 with a notice.
     * Norms and biases (1-D, small) are always fp32.
     */
    private NDArray half(RawTensor t) {
        if (t.dtype() != dev.ffwd.io.DType.F16 && t.dtype() != dev.ffwd.io.DType.BF16) return null;
        java.nio.ByteBuffer f16 = t.asF16OrNull();
        if (f16 == null) {
            System.err.println("note: " + store.source() + ": tensor '" + t.name() + "' has BF16 values beyond F16's range (±65504); held in fp32 (4 bytes per value)");
            return null;
        }
        return manager.create(f16, new Shape(t.shape()), DataType.FLOAT16);
    }

    /** Bytes the frozen tensors occupy as held (2 per value for weights kept in F16 or bf16, 4 in fp32). */
    public long frozenBytes() {
        return params.values().stream().mapToLong(Transformer::bytes).sum()
                + linears.values().stream().mapToLong(l -> bytes(l.weight())).sum();  // biases are in params
    }

    private static long bytes(NDArray a) {
        return a.getShape().size() * (Bf16.holds(a) ? 2 : a.getDataType().getNumOfBytes());  // DJL reports bf16 as UNKNOWN, of 0 bytes
    }

    /** Another name some checkpoints give tensor {@code name} (e.g. with or without a "bert." prefix); null if none. */
    protected String alias(String name) {
        return null;
    }

    private RawTensor find(String name) {
        if (store.contains(name)) return store.get(name);
        String other = alias(name);
        if (other != null && store.contains(other)) return store.get(other);
        throw new FfwdException(store.source() + ": missing tensor '" + name + "' required by "
                + config.source().getFileName() + " (model_type " + config.modelType() + ", " + config.layers() + " layers)");
    }

    // ---- shared math --------------------------------------------------------------------------

    private Context context(NDArray mask, long t, KvCache cache) {
        long b = mask.getShape().get(0), s = mask.getShape().get(1);
        if (config.slidingWindow() > 0 && s > config.slidingWindow())
            throw new FfwdException(config.source() + ": sliding_window " + config.slidingWindow() + " is shorter than the sequence ("
                    + s + " tokens); sliding-window attention is not implemented");
        NDArray m = mask.toType(DataType.FLOAT32, false);                                      // [B, S]
        NDArray positions = m.cumSum(1).sub(1f).maximum(0f).toType(DataType.INT64, false);     // [B, S]
        if (s > t) positions = positions.get(new NDIndex(":, {}:", s - t));                    // [B, T]
        NDArray bias = m.sub(1f).mul(1e9f).reshape(b, 1, 1, s);
        if (config.causal() && t > 1) bias = bias.add(causalBias(t, s));                       // [B, 1, T, S]
        NDArray cos = null, sin = null;
        if (config.rotaryDim() > 0) {
            NDArray[] tables = ropeTables(s);
            cos = gather(tables[0], positions).expandDims(1);                                  // [B, 1, T, D]
            sin = gather(tables[1], positions).expandDims(1);
        }
        return new Context(bias, positions, cos, sin, cache);
    }

    /** Rows of {@code table} [N, k] at {@code index} [B, T] -> [B, T, k]. */
    protected static NDArray gather(NDArray table, NDArray index) {
        NDArray rows = Ops.embedding(table, index);
        if (rows.getDataType() == DataType.FLOAT32) return rows;
        NDArray f = rows.toType(DataType.FLOAT32, false);  // rows of a 2-byte embedding table, upcast for compute
        rows.close();
        return f;
    }

    /** [T, S]: query i (at absolute position S-T+i) may see keys j ≤ S-T+i. */
    private NDArray causalBias(long t, long s) {
        if (t == s) return causalCache.computeIfAbsent(t, n -> keep(causalMatrix(n, n)));
        return causalMatrix(t, s);
    }

    private NDArray causalMatrix(long t, long s) {
        float[] m = new float[Math.toIntExact(t * s)];
        for (int i = 0; i < t; i++)
            for (long j = s - t + i + 1; j < s; j++) m[(int) (i * s + j)] = -1e9f;
        return manager.create(m, new Shape(t, s));
    }

    protected NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
        return Ops.layerNorm(x, w, b, config.normEps());
    }

    protected NDArray rmsNorm(NDArray x, NDArray w) {
        NDArray rms = x.square().mean(new int[]{-1}, true).add((float) config.normEps()).sqrt();
        return x.div(rms).mul(w);
    }

    /** The MLP activation config.json names. */
    protected NDArray activation(NDArray x) {
        return switch (config.act()) {
            case SILU -> Fused.silu(x);
            case GELU -> Ops.gelu(x);
            case GELU_TANH -> Fused.geluTanh(x);
        };
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

    /**
     * Attention of block {@code layer}: q [B, H, T, D]; k, v [B, KV, T, D] for the new positions, extended by the
     * cache when there is one; each KV head serves H/KV consecutive query heads. Returns [B, T, H·D].
     */
    protected NDArray attend(int layer, NDArray q, NDArray k, NDArray v, Context ctx) {
        if (ctx.cache() != null)
            return Fused.cached(q, k, v, ctx.cache().reserve(layer, k), ctx.bias(), attentionScale(q.getShape().get(3)));
        return mergeHeads(scaledDotProduct(q, k, v, ctx.bias(), 0));
    }

    /**
     * softmax(q·kᵀ/√D + bias)·v with dropout of probability p on the probabilities: q [B, H, T, D]; k, v [B, KV, S, D],
     * each KV head serving H/KV consecutive query heads. Without dropout, libtorch's fused kernel, which keeps no
     * [B, H, T, S] array for backward; with it, the composed ops, whose mask comes from the engine's generator as
     * {@link ActivationCheckpoint} needs.
     */
    protected NDArray scaledDotProduct(NDArray q, NDArray k, NDArray v, NDArray bias, double p) {
        if (p == 0) return Fused.sdpa(q, k, v, bias, attentionScale(q.getShape().get(3)));
        long rep = q.getShape().get(1) / k.getShape().get(1);
        if (rep > 1) {
            k = k.repeat(1, rep);                                              // [B, H, S, D]
            v = v.repeat(1, rep);
        }
        return attention(q, k, v, bias, p);
    }

    /**
     * softmax(q·kᵀ/√D + bias)·v in composed ops, with dropout of probability p on the probabilities. q [B, H, T, D];
     * k, v [B, H, S, D]; bias broadcasts to [B, H, T, S].
     */
    static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray bias, double p) {
        NDArray scores = Scalars.scale(q, 1 / Math.sqrt(q.getShape().get(3))).matMul(k.transpose(0, 1, 3, 2));
        return Ops.dropout(scores.add(bias).softmax(-1), p).matMul(v);
    }

    /**
     * Rotate-half RoPE on the first rotaryDim features of x [B, H, T, D], at the context's positions:
     * x·cos + swap(x)·sin, where swap exchanges the two halves of the rotary features, the tables carry rotate_half's
     * sign in sin's first half, and cos = 1, sin = 0 beyond rotaryDim pass the other features through unchanged. Six
     * or seven ops in one call ({@link Fused#rope}): decoding runs this twice per block and token.
     */
    private NDArray rope(NDArray x, Context ctx) {
        return Fused.rope(x, ctx.cos(), ctx.sin(), rotaryDim());
    }

    /** {@link #attend} of q and k after {@link #rope}: with a cache, one call ({@link Fused#ropeCached}). */
    protected NDArray attendRotary(int layer, NDArray q, NDArray k, NDArray v, Context ctx) {
        if (ctx.cache() == null) return attend(layer, rope(q, ctx), rope(k, ctx), v, ctx);
        return Fused.ropeCached(q, k, v, ctx.cos(), ctx.sin(), rotaryDim(), ctx.cache().reserve(layer, k), ctx.bias(),
                attentionScale(q.getShape().get(3)));
    }

    /** rotaryDim as a 0-d int64 tensor, made once. */
    private NDArray rotaryDim() {
        if (rotaryDim == null) rotaryDim = keep(manager.create((long) config.rotaryDim()));
        return rotaryDim;
    }

    /** 1/√d as a 0-d fp32 tensor, made once (as {@link #attention}'s scale, in fp32). */
    private NDArray attentionScale(long d) {
        return attentionScales.computeIfAbsent(d, n -> keep(manager.create((float) (1 / Math.sqrt(n)))));
    }

    /**
     * cos and sin tables [N, D] for positions 0..N-1, N a power of two ≥ {@code length} (HF's rotate_half layout):
     * features below rotaryDim hold cos and ±sin (minus in the first half), the others 1 and 0.
     */
    private NDArray[] ropeTables(long length) {
        long n = Long.highestOneBit(Math.max(1, length - 1)) << 1;
        return ropeCache.computeIfAbsent(n, len -> {
            int rd = config.rotaryDim(), d = config.headDim();
            double[] inv = new double[rd / 2];
            for (int i = 0; i < rd / 2; i++) inv[i] = scaleFrequency(1.0 / Math.pow(config.ropeTheta(), 2.0 * i / rd));
            int rows = Math.toIntExact(len);
            float[] cos = new float[rows * d], sin = new float[rows * d];
            for (int p = 0; p < rows; p++)
                for (int i = 0; i < d; i++) {
                    double a = i < rd ? p * inv[i % (rd / 2)] : 0;
                    cos[p * d + i] = (float) Math.cos(a);
                    sin[p * d + i] = (float) (i < rd / 2 ? -Math.sin(a) : Math.sin(a));
                }
            return new NDArray[]{keep(manager.create(cos, new Shape(len, d))), keep(manager.create(sin, new Shape(len, d)))};
        });
    }

    /** rope_scaling applied to a frequency; identity without. */
    private double scaleFrequency(double f) {
        return config.ropeScaling() == null ? f : config.ropeScaling().scale(f);
    }

    /** Takes a long-lived array out of any enclosing NDScope. */
    protected static NDArray keep(NDArray a) {
        NDScope.unregister(a);
        return a;
    }

    @Override
    public void close() {
        if (manager != null) manager.close();
        if (store != null) store.close();
    }
}
