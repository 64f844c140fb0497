package dev.ffwd.data;

/**
 * A tokenized example. For language modelling, {@code target[t]} says whether token t is predicted (has loss);
 * for classification, {@code label} is the class index (else -1).
 */
public record Example(long[] ids, boolean[] target, int label) implements java.io.Serializable {

    public int length() {
        return ids.length;
    }

    public int targetCount() {
        int n = 0;
        for (int t = 1; t < target.length; t++) if (target[t]) n++;
        return n;
    }
}
