package dev.ffwd.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.List;

/**
 * Examples padded to a common length T. Arrays: ids [B, T] int64, mask [B, T] float (1 token, 0 pad),
 * targets [B, T] float (1 where the token is predicted), labels [B] int64 (classification), tokenLabels [B, T] int64
 * (masked language modelling: each position's token before masking, 0 at padding; null when the examples have none).
 */
public record Batch(NDArray ids, NDArray mask, NDArray targets, NDArray labels, NDArray tokenLabels, int rows, int length) {

    public static Batch of(List<Example> examples, NDManager m) {
        int b = examples.size(), t = examples.stream().mapToInt(Example::length).max().orElse(0);
        boolean tokenLabelled = examples.stream().anyMatch(e -> e.tokenLabels() != null);
        long[] ids = new long[b * t], labels = new long[b], tokenLabels = tokenLabelled ? new long[b * t] : null;
        float[] mask = new float[b * t], tgt = new float[b * t];
        for (int i = 0; i < b; i++) {
            Example e = examples.get(i);
            if (tokenLabelled && e.tokenLabels() == null)
                throw new IllegalArgumentException("example " + i + " has no token labels but others in its batch do");
            for (int j = 0; j < e.length(); j++) {
                ids[i * t + j] = e.ids()[j];
                mask[i * t + j] = 1;
                tgt[i * t + j] = e.target()[j] ? 1 : 0;
                if (tokenLabelled) tokenLabels[i * t + j] = e.tokenLabels()[j];
            }
            labels[i] = e.label();
        }
        Shape s = new Shape(b, t);
        return new Batch(m.create(ids, s), m.create(mask, s), m.create(tgt, s), m.create(labels),
                tokenLabelled ? m.create(tokenLabels, s) : null, b, t);
    }
}
