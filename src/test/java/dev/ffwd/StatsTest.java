package dev.ffwd;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class StatsTest {

    @Test
    void medianOfOddAndEvenCountsLeavesItsInputAlone() {
        double[] v = {3, 1, 2};
        assertEquals(2, Stats.median(v));
        assertArrayEquals(new double[]{3, 1, 2}, v, "the input is not sorted in place");
        assertEquals(2.5, Stats.median(4, 1, 3, 2), "an even count: the mean of the two middle values");
        assertEquals(1.5, Stats.median(List.of(2.0, 1.0)));
        assertTrue(Double.isNaN(Stats.median()));
    }
}
