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

    /** A cached decoding profile: its parts add up to the token's wall time, and the matrix products take part of it. */
    @Test
    void aProfileSplitsATokensTime(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        StepProfile p = DecodeBench.profile(TinyModels.dir("tiny-gpt-neox"), 5, 6, tmp.resolve("trace.json"));
        double parts = p.selfMs().values().stream().mapToDouble(Double::doubleValue).sum();
        assertEquals(p.wallMs(), parts, 1e-6 * p.wallMs(), "the categories and the time between ops make up the wall time");
        assertTrue(p.selfMs().get(StepProfile.categories().get(0)) > 0, "matrix products: " + p.selfMs());
        assertTrue(p.table("token").contains("| **the token (wall, profiled)** |"), p.table("token"));
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
