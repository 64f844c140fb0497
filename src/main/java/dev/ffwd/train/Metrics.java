package dev.ffwd.train;

/** Evaluation results: for classification, loss, accuracy and macro-F1; for language modelling, loss and perplexity. */
public sealed interface Metrics {

    /** Mean negative log-likelihood (per example for classification, per target token for text). */
    double loss();

    /** @param examples  how many examples were scored */
    record Classification(int examples, double loss, double accuracy, double macroF1) implements Metrics {
        public Classification {
            if (examples < 1) throw new IllegalArgumentException("no examples");
        }
    }

    /** @param tokens how many target tokens the loss averages over; perplexity = exp(loss) */
    record Text(int examples, long tokens, double loss, double perplexity) implements Metrics {
        public Text {
            if (examples < 1 || tokens < 1) throw new IllegalArgumentException("no target tokens");
        }
    }

    /** Accuracy and macro-F1 of {@code predicted} against {@code gold}, with the loss measured alongside. */
    static Classification classification(double loss, int[] gold, int[] predicted, int classes) {
        return new Classification(gold.length, loss, accuracy(gold, predicted), macroF1(gold, predicted, classes));
    }

    /** The gold class index of each labelled example. */
    static int[] gold(java.util.List<dev.ffwd.data.Example> examples) {
        int[] gold = new int[examples.size()];
        for (int i = 0; i < gold.length; i++) {
            gold[i] = examples.get(i).label();
            if (gold[i] < 0) throw new IllegalArgumentException("example " + i + " has no valid label");
        }
        return gold;
    }

    /** The fraction of predictions equal to the gold label. */
    static double accuracy(int[] gold, int[] predicted) {
        check(gold, predicted);
        int right = 0;
        for (int i = 0; i < gold.length; i++) if (gold[i] == predicted[i]) right++;
        return right / (double) gold.length;
    }

    /**
     * The unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), over the classes that occur in {@code gold} or
     * {@code predicted} (scikit-learn's {@code f1_score(average="macro")}); a class never predicted but present has F1 0.
     */
    static double macroF1(int[] gold, int[] predicted, int classes) {
        check(gold, predicted);
        long[] tp = new long[classes], fp = new long[classes], fn = new long[classes];
        for (int i = 0; i < gold.length; i++) {
            if (gold[i] < 0 || gold[i] >= classes || predicted[i] < 0 || predicted[i] >= classes)
                throw new IllegalArgumentException("class index out of range [0, " + classes + ") at " + i);
            if (gold[i] == predicted[i]) tp[gold[i]]++;
            else {
                fp[predicted[i]]++;
                fn[gold[i]]++;
            }
        }
        double sum = 0;
        int present = 0;
        for (int c = 0; c < classes; c++) {
            long denominator = 2 * tp[c] + fp[c] + fn[c];
            if (denominator == 0) continue;  // neither in gold nor predicted
            sum += 2.0 * tp[c] / denominator;
            present++;
        }
        return sum / present;
    }

    private static void check(int[] gold, int[] predicted) {
        if (gold.length != predicted.length) throw new IllegalArgumentException(gold.length + " gold labels but " + predicted.length + " predictions");
        if (gold.length == 0) throw new IllegalArgumentException("no examples");
    }
}
