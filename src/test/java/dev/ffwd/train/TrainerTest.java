package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import dev.ffwd.TestData;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class TrainerTest {

    @TempDir Path tmp;

    @Test
    void trainingLowersTestLossAndLeavesBaseWeightsBitIdentical() throws Exception {
        Path data = TestData.stories(tmp, 120, 1);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(30, 1e-2), 0.0))) {
            Map<String, float[]> before = snapshot(ft.pretrained.model().parameters());
            TrainingRun run = ft.newRun(FfConfig.off(), null);
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            History h = run.history();
            assertTrue(h.lastTestLoss() < h.points.get(0).testLoss() - 0.05,
                    "test loss " + h.points.get(0).testLoss() + " -> " + h.lastTestLoss());
            Map<String, float[]> after = snapshot(ft.pretrained.model().parameters());
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), "base weight " + k + " changed"));
        }
    }

    @Test
    void resumedRunEqualsUninterruptedRunBitForBit() throws Exception {
        // the paper's stage at step 6; and ffwd, whose Δ spans steps 5-8, so that the checkpoint at step 6 must carry
        // the pending snapshot of step 4
        for (FfConfig ff : List.of(FfConfig.paper(), FfConfig.defaults().withInterval(4).withParams(FfConfig.Params.ALL)))
            resumeMatches(ff);
    }

    private void resumeMatches(FfConfig ff) throws Exception {
        Path data = TestData.stories(tmp, 80, 2);
        Path ckpt = tmp.resolve("ck.safetensors");
        Files.deleteIfExists(ckpt);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(9, 5e-3), 0.1))) {
            TrainingRun full = ft.newRun(ff, null);
            full.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<float[]> expected = full.trainer().params().stream().map(Param::toFloats).toList();

            // crash during step 7 (checkpoints are written every 3 steps), then resume in a fresh run
            runUntil(ft.newRun(ff, ckpt), 6);
            assertTrue(Files.exists(ckpt));
            TrainingRun b = ft.newRun(ff, ckpt);
            assertTrue(b.resume());
            assertEquals(6, b.trainer().steps());
            b.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<float[]> got = b.trainer().params().stream().map(Param::toFloats).toList();
            for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), got.get(i), ff + ": param " + i);
            assertEquals(full.history().points.stream().map(History.Point::testLoss).toList(),
                    b.history().points.stream().map(History.Point::testLoss).toList());
            assertEquals(full.history().stages.size(), b.history().stages.size());
            assertFalse(full.history().stages.isEmpty(), ff + ": no stage ran");
        }
    }

    /** Runs with a listener that aborts once {@code steps} are done (checkpoints land every 3 steps). */
    private static void runUntil(TrainingRun run, long steps) {
        class Stop extends RuntimeException {}
        try {
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {
                @Override
                public void onStep(Trainer t, double loss) {
                    if (t.steps() > steps) throw new Stop();
                }
            });
        } catch (Stop expected) {
            // simulated crash
        }
    }

    static Map<String, float[]> snapshot(Map<String, NDArray> params) {
        Map<String, float[]> m = new LinkedHashMap<>();
        params.forEach((k, v) -> m.put(k, v.toFloatArray()));
        return m;
    }
}
