package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The cache's buffers, written in place and grown past their reserve, hold exactly what concatenation would. */
class KvCacheTest {

    @Test
    void appendsInPlaceAndGrowsPastItsReserve() {
        try (NDManager m = NDManager.newBaseManager(); KvCache cache = new KvCache(2, 2)) {
            NDArray keys = null, values = null;  // the concatenation the cache must equal
            int[] steps = {3, 1, 1, 4};           // a prompt longer than the reserve, then tokens, then a longer chunk
            for (int i = 0; i < steps.length; i++) {
                for (int layer = 0; layer < 2; layer++) {
                    NDArray k = m.randomNormal(new Shape(1, 2, steps[i], 4)), v = m.randomNormal(new Shape(1, 2, steps[i], 4));
                    NDArray[] kv = cache.append(layer, k, v);
                    if (layer == 0) {
                        keys = keys == null ? k : keys.concat(k, 2);
                        values = values == null ? v : values.concat(v, 2);
                        assertEquals(keys.getShape(), kv[0].getShape());
                        assertArrayEquals(keys.toFloatArray(), kv[0].toFloatArray());
                        assertArrayEquals(values.toFloatArray(), kv[1].toFloatArray());
                    }
                }
                assertEquals(keys.getShape().get(2), cache.length());
            }
            assertEquals(9, cache.length());
        }
    }
}
