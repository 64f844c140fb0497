package dev.ffwd.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class MetricsTest {

    @Test
    void accuracyAndMacroF1ByHand() {
        int[] gold = {0, 0, 0, 1, 1, 2};
        int[] pred = {0, 0, 1, 1, 2, 2};
        assertEquals(4 / 6.0, Metrics.accuracy(gold, pred), 1e-12);
        // class 0: TP 2, FP 0, FN 1 -> 4/5; class 1: TP 1, FP 1, FN 1 -> 2/4; class 2: TP 1, FP 1, FN 0 -> 2/3
        assertEquals((0.8 + 0.5 + 2 / 3.0) / 3, Metrics.macroF1(gold, pred, 3), 1e-12);
    }

    @Test
    void classesAbsentFromGoldAndPredictionsDoNotCount() {
        int[] gold = {0, 0, 1}, pred = {0, 0, 1};
        assertEquals(1.0, Metrics.macroF1(gold, pred, 5), 1e-12);
        // a class present only in the predictions has F1 0 (scikit-learn's macro average)
        assertEquals((2 * 2 / 5.0 + 0) / 2, Metrics.macroF1(new int[]{0, 0, 0}, new int[]{0, 0, 1}, 2), 1e-12);
    }

    @Test
    void rejectsMismatchedInput() {
        assertThrows(IllegalArgumentException.class, () -> Metrics.accuracy(new int[]{0}, new int[]{0, 1}));
        assertThrows(IllegalArgumentException.class, () -> Metrics.macroF1(new int[]{0}, new int[]{3}, 2));
        assertThrows(IllegalArgumentException.class, () -> Metrics.accuracy(new int[0], new int[0]));
    }
}
