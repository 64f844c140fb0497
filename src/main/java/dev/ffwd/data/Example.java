package dev.ffwd.data;

/**
 * A tokenized example. For language modelling, {@code target[t]} says whether token t is predicted (has loss);
 * for classification, {@code label} is the class index (else -1). For masked language modelling,
 * {@code tokenLabels[t]} is the token at t before masking (what a target position is scored against; equal to
 * {@code ids[t]} wherever {@code target[t]} is false); null for every other task.
 */
public record Example(long[] ids, boolean[] target, int label, long[] tokenLabels) implements java.io.Serializable {

    public Example {
        if (tokenLabels != null && tokenLabels.length != ids.length)
            throw new IllegalArgumentException(ids.length + " ids but " + tokenLabels.length + " token labels");
    }

    /** An example without token labels (causal language modelling, classification). */
    public Example(long[] ids, boolean[] target, int label) {
        this(ids, target, label, null);
    }

    public int length() {
        return ids.length;
    }

    /**
     * The positions that have loss: the target tokens after the first (a causal LM never predicts the first token), or
     * every target position of a masked-LM example (its token labels are scored in place).
     */
    public int targetCount() {
        int n = 0;
        for (int t = tokenLabels == null ? 1 : 0; t < target.length; t++) if (target[t]) n++;
        return n;
    }
}
