package dev.ffwd.train;

import dev.ffwd.FfwdException;
import dev.ffwd.TestData;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** FF +lr inside real training (tiny-llama): the multiplier reaches the optimizer, and a checkpoint carries it. */
class FastForwardLrTest {

    @TempDir Path tmp;

    /** Stages at steps 2, 4, 6, 8 (checkpoints every 3 steps), Δ over the whole interval, the guard on. */
    static final FfConfig LR = FfConfig.parse("ffwd+lr", FfConfig.defaults().withInterval(2)).withAdaptive(false).withParams(FfConfig.Params.ALL);

    @Test
    void theMultiplierReachesTheOptimizerOnlyWithPlusLr() throws Exception {
        Path data = TestData.stories(tmp, 80, 2);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(4, 5e-3), 0.0))) {
            TrainingRun plain = ft.newRun(LR.withLrAdapt(false), null);  // a new run replaces the previous one's tensors
            plain.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<float[]> x = plain.trainer().params().stream().map(Param::toFloats).toList();
            TrainingRun adapted = ft.newRun(LR, null);
            adapted.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<float[]> y = adapted.trainer().params().stream().map(Param::toFloats).toList();
            FastForward.Stage p = plain.history().stages.get(0).stage(), a = adapted.history().stages.get(0).stage();
            assertEquals(p.losses(), a.losses(), "up to the first stage the runs are the same");
            assertNull(p.lrScale(), "without +lr no multiplier is recorded");
            assertNotEquals(1.0, a.lrScale(), "precondition: the first stage moved the multiplier (τ = " + a.tau() + ")");
            assertFalse(java.util.stream.IntStream.range(0, x.size()).allMatch(i -> java.util.Arrays.equals(x.get(i), y.get(i))),
                    "steps 3-4 ran at lr × " + a.lrScale() + " and must differ from the unscaled run");
        }
    }

    @Test
    void resumeContinuesWithTheCheckpointedMultiplier() throws Exception {
        Path data = TestData.stories(tmp, 80, 2), ckpt = tmp.resolve("ck.safetensors");
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(9, 5e-3), 0.1))) {
            TrainingRun full = ft.newRun(LR, null);
            full.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<Double> scales = full.history().stages.stream().map(s -> s.stage().lrScale()).toList();
            List<float[]> expected = full.trainer().params().stream().map(Param::toFloats).toList();
            assertNotEquals(1.0, scales.get(2), "precondition: the multiplier at the step-6 checkpoint is not 1: " + scales);

            TrainerTest.runUntil(ft.newRun(LR, ckpt), 6);  // crash during step 7, after the checkpoint of step 6
            TrainingRun b = ft.newRun(LR, ckpt);
            assertTrue(b.resume());
            assertEquals(6, b.trainer().steps());
            b.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            List<float[]> got = b.trainer().params().stream().map(Param::toFloats).toList();
            for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), got.get(i), "param " + i);
            assertEquals(scales, b.history().stages.stream().map(s -> s.stage().lrScale()).toList());

            FfwdException e = assertThrows(FfwdException.class, () -> ft.newRun(LR.withLrAdapt(false), ckpt).resume());
            assertTrue(e.getMessage().contains("written with ff_lr adapt"), e.getMessage());
            Files.delete(ckpt);
        }
    }
}
