package dev.ffwd.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.List;

/**
 * Examples padded to a common length T. Arrays: ids [B, T] int64, mask [B, T] float (1 token, 0 pad),
 * targets [B, T] float (1 where the token is predicted), labels [B] int64 (classification).
 */
public record Batch(NDArray ids, NDArray mask, NDArray targets, NDArray labels, int rows, int length) {

    public static Batch of(List<Example> examples, NDManager m) {
        int b = examples.size(), t = examples.stream().mapToInt(Example::length).max().orElse(0);
        long[] ids = new long[b * t], labels = new long[b];
        float[] mask = new float[b * t], tgt = new float[b * t];
        for (int i = 0; i < b; i++) {
            Example e = examples.get(i);
            for (int j = 0; j < e.length(); j++) {
                ids[i * t + j] = e.ids()[j];
                mask[i * t + j] = 1;
                tgt[i * t + j] = e.target()[j] ? 1 : 0;
            }
            labels[i] = e.label();
        }
        Shape s = new Shape(b, t);
        return new Batch(m.create(ids, s), m.create(mask, s), m.create(tgt, s), m.create(labels), b, t);
    }
}
