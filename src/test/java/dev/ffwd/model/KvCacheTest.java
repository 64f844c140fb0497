package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The cache's buffers, written in place by {@link Fused#cached} and grown past their reserve, hold exactly what
 * concatenation would, and attention over them equals {@link Transformer#attention} over the concatenation, bit for bit.
 */
class KvCacheTest {

    @Test
    void writesInPlaceGrowsPastItsReserveAndAttendsAsConcatenation() {
        int heads = 4, kvHeads = 2, d = 4;
        try (NDManager m = NDManager.newBaseManager(); KvCache cache = new KvCache(2, 2)) {
            NDArray scale = m.create((float) (1 / Math.sqrt(d)));
            NDArray keys = null, values = null;  // the concatenation of layer 0's keys and values
            int[] steps = {3, 1, 1, 4};           // a prompt longer than the reserve, then tokens, then a longer chunk
            for (int step : steps) {
                for (int layer = 0; layer < 2; layer++) {
                    NDArray q = m.randomNormal(new Shape(1, heads, step, d));
                    NDArray k = m.randomNormal(new Shape(1, kvHeads, step, d)), v = m.randomNormal(new Shape(1, kvHeads, step, d));
                    long s = cache.length() + (layer == 0 ? 0 : -step);
                    NDArray bias = m.randomNormal(new Shape(1, 1, step, s + step));
                    KvCache.Slot slot = cache.reserve(layer, k);
                    assertEquals(s, slot.start().getLong());
                    NDArray out = Fused.cached(q, k, v, slot, bias, scale);  // [1, T, H·D]
                    if (layer == 0) {
                        keys = keys == null ? k : keys.concat(k, 2);
                        values = values == null ? v : values.concat(v, 2);
                        NDIndex filled = new NDIndex(":, :, :{}", s + step);
                        assertArrayEquals(keys.toFloatArray(), slot.keys().get(filled).toFloatArray());
                        assertArrayEquals(values.toFloatArray(), slot.values().get(filled).toFloatArray());
                        NDArray plain = Transformer.mergeHeads(Transformer.attention(q, keys.repeat(1, heads / kvHeads),
                                values.repeat(1, heads / kvHeads), bias, 0));
                        assertEquals(plain.getShape(), out.getShape());
                        assertArrayEquals(plain.toFloatArray(), out.toFloatArray());
                    }
                }
                assertEquals(keys.getShape().get(2), cache.length());
            }
            assertEquals(9, cache.length());
        }
    }
}
