package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import dev.ffwd.TestData;
import dev.ffwd.fastforward.FfConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FineTuneTest {

    @TempDir Path tmp;

    /** A comparison runs many arms on one FineTune: each new run must free the previous run's Adam moments. */
    @Test
    void aNewRunFreesThePreviousRunsOptimizerState() throws Exception {
        Path data = TestData.stories(tmp, 40, 4);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(2, 5e-3), 0.0))) {
            TrainingRun first = ft.newRun(FfConfig.off(), null);
            first.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<NDArray> moments = first.trainer().optimizer().buffers().values().stream().flatMap(Arrays::stream).toList();
            assertFalse(moments.isEmpty());
            assertTrue(moments.stream().noneMatch(NDArray::isReleased));
            ft.newRun(FfConfig.off(), null);
            assertTrue(moments.stream().allMatch(NDArray::isReleased), "the first run's moment buffers are still held");
        }
    }
}
