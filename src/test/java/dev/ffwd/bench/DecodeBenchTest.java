package dev.ffwd.bench;

import dev.ffwd.FfwdException;
import dev.ffwd.TinyModels;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The decoding benchmark: runs both modes on a generated tiny model, checks their tokens agree, and summarises the repeats. */
class DecodeBenchTest {

    @Test
    void timesBothModesOnATinyModel() {
        DecodeBench.Result r = DecodeBench.run(TinyModels.dir("tiny-gpt-neox"), 5, 12, 3);
        assertEquals(3, r.cachedSeconds().length);
        assertEquals(3, r.recomputeSeconds().length);
        for (double s : r.cachedSeconds()) assertTrue(s > 0);
        DecodeBench.Spread c = r.cachedTokensPerSecond();
        assertTrue(c.min() <= c.median() && c.median() <= c.max());
        assertEquals(12 / r.cachedSeconds()[0], DecodeBench.Spread.of(new double[]{12 / r.cachedSeconds()[0]}).median());
    }

    @Test
    void spreadIsMinMedianMax() {
        assertEquals(new DecodeBench.Spread(1, 2.5, 9), DecodeBench.Spread.of(new double[]{9, 1, 2, 3}));
        assertEquals(new DecodeBench.Spread(1, 2, 3), DecodeBench.Spread.of(new double[]{3, 2, 1}));
        assertThrows(IllegalArgumentException.class, () -> DecodeBench.Spread.of(new double[0]));
    }

    @Test
    void anEncoderIsRefused() {
        assertThrows(FfwdException.class, () -> DecodeBench.run(dev.ffwd.io.BuiltinModel.materialize(dev.ffwd.io.BuiltinModel.defaultDir()), 4, 4, 1));
    }
}
