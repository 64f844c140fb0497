package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Keys and values of the positions decoded so far, per block, for incremental decoding: each new token then costs
 * one position's projections and attention over the cache instead of a pass over the whole sequence.
 * Each block's keys and values live in a buffer reserved for {@code capacity} positions and written in place: growing
 * the cache by concatenation would copy it whole, into freshly allocated (page-faulted) memory, at every token. A
 * longer sequence doubles the buffer. The buffers live outside any NDScope until {@link #close}. {@link Fused#cached}
 * writes the new positions and attends over the filled part in one call.
 */
public final class KvCache implements AutoCloseable {

    private final NDArray[] keys, values;  // per layer: [B, KV, capacity, D]; positions [0, lengths[layer]) are filled
    private final long[] lengths;
    private final long capacity;
    private NDArray start;    // the first position of the forward pass under way, as a tensor (Slot.start)
    private long startValue;

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

    /**
     * Where block {@code layer} puts the keys and values of T new positions: its buffers [B, KV, capacity, D], with
     * room for them, and the first new position as a 0-d int64 tensor ({@link Fused#cached} writes and reads them).
     */
    record Slot(NDArray keys, NDArray values, NDArray start) {}

    /** Makes room in block {@code layer}'s buffers for new keys (and values) like {@code k} [B, KV, T, D] and counts them as cached. */
    Slot reserve(int layer, NDArray k) {
        long s = lengths[layer], n = s + k.getShape().get(2);
        keys[layer] = room(keys[layer], k, s, n);
        values[layer] = room(values[layer], k, s, n);
        lengths[layer] = n;
        return new Slot(keys[layer], values[layer], position(s, keys[layer]));
    }

    /** {@code buffer}, or a larger one with its first {@code s} positions copied if it lacks room for {@code n}. */
    private NDArray room(NDArray buffer, NDArray k, long s, long n) {
        long room = buffer == null ? 0 : buffer.getShape().get(2);
        if (n <= room) return buffer;
        Shape kv = k.getShape();
        NDArray grown = Transformer.keep(k.getManager().zeros(new Shape(kv.get(0), kv.get(1), Math.max(n, Math.max(capacity, 2 * room)), kv.get(3))));
        if (buffer != null) {
            grown.set(new NDIndex(":, :, :{}", s), buffer.get(new NDIndex(":, :, :{}", s)));
            buffer.close();
        }
        return grown;
    }

    /** Position {@code s} as a 0-d int64 tensor, made once for all the blocks of a forward pass. */
    private NDArray position(long s, NDArray like) {
        if (start == null || startValue != s) {
            if (start != null) start.close();
            start = Transformer.keep(like.getManager().create(s));
            startValue = s;
        }
        return start;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) keys[i].close();
            if (values[i] != null) values[i].close();
            keys[i] = values[i] = null;
            lengths[i] = 0;
        }
        if (start != null) start.close();
        start = null;
    }
}
