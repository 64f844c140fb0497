package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Keys and values of the positions decoded so far, per block, for incremental decoding: each new token then costs
 * one position's projections and attention over the cache instead of a pass over the whole sequence.
 * Each block's keys and values live in a buffer reserved for {@code capacity} positions and written in place: growing
 * the cache by concatenation would copy it whole, into freshly allocated (page-faulted) memory, at every token. A
 * longer sequence doubles the buffer. The buffers live outside any NDScope until {@link #close}.
 */
public final class KvCache implements AutoCloseable {

    private final NDArray[] keys, values;  // per layer: [B, KV, capacity, D]; positions [0, lengths[layer]) are filled
    private final long[] lengths;
    private final long capacity;

    /** A cache for {@code layers} blocks, reserving {@code capacity} positions (more are taken as they come). */
    public KvCache(int layers, long capacity) {
        if (layers <= 0) throw new IllegalArgumentException("a cache needs at least one layer, got " + layers);
        if (capacity <= 0) throw new IllegalArgumentException("a cache needs room for at least one position, got " + capacity);
        keys = new NDArray[layers];
        values = new NDArray[layers];
        lengths = new long[layers];
        this.capacity = capacity;
    }

    public int layers() {
        return keys.length;
    }

    /** Positions cached (those of block 0, which is extended first). */
    public long length() {
        return lengths[0];
    }

    /** Appends k, v [B, KV, T, D] of block {@code layer}; returns the block's keys and values so far [B, KV, S, D] (views). */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        long s = lengths[layer], n = s + k.getShape().get(2);
        keys[layer] = write(keys[layer], k, s, n);
        values[layer] = write(values[layer], v, s, n);
        lengths[layer] = n;
        NDIndex filled = new NDIndex(":, :, :{}", n);
        return new NDArray[]{keys[layer].get(filled), values[layer].get(filled)};
    }

    /** {@code add} written at positions [s, n) of {@code buffer}, which is replaced by a larger one (prefix copied) if it lacks room. */
    private NDArray write(NDArray buffer, NDArray add, long s, long n) {
        long room = buffer == null ? 0 : buffer.getShape().get(2);
        if (n > room) {
            Shape a = add.getShape();
            NDArray grown = Transformer.keep(add.getManager().zeros(new Shape(a.get(0), a.get(1), Math.max(n, Math.max(capacity, 2 * room)), a.get(3))));
            if (buffer != null) {
                grown.set(new NDIndex(":, :, :{}", s), buffer.get(new NDIndex(":, :, :{}", s)));
                buffer.close();
            }
            buffer = grown;
        }
        buffer.set(new NDIndex(":, :, {}:{}", s, n), add);
        return buffer;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) keys[i].close();
            if (values[i] != null) values[i].close();
            keys[i] = values[i] = null;
            lengths[i] = 0;
        }
    }
}
