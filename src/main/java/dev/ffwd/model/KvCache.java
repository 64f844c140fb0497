package dev.ffwd.model;

import ai.djl.ndarray.NDArray;

/**
 * Keys and values of the positions decoded so far, per block, for incremental decoding: each new token then costs
 * one position's projections and attention over the cache instead of a pass over the whole sequence.
 * The arrays live outside any NDScope until {@link #close}.
 */
public final class KvCache implements AutoCloseable {

    private final NDArray[] keys, values;  // per layer: [B, KV, S, D]

    public KvCache(int layers) {
        if (layers <= 0) throw new IllegalArgumentException("a cache needs at least one layer, got " + layers);
        keys = new NDArray[layers];
        values = new NDArray[layers];
    }

    public int layers() {
        return keys.length;
    }

    /** Positions cached (those of block 0, which is extended first). */
    public long length() {
        return keys[0] == null ? 0 : keys[0].getShape().get(2);
    }

    /** Appends k, v [B, KV, T, D] of block {@code layer}; returns the block's full keys and values [B, KV, S, D]. */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        keys[layer] = extend(keys[layer], k);
        values[layer] = extend(values[layer], v);
        return new NDArray[]{keys[layer], values[layer]};
    }

    private static NDArray extend(NDArray old, NDArray add) {
        NDArray all = old == null ? add.duplicate() : old.concat(add, 2);
        Transformer.keep(all);
        if (old != null) old.close();
        return all;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) keys[i].close();
            if (values[i] != null) values[i].close();
            keys[i] = values[i] = null;
        }
    }
}
