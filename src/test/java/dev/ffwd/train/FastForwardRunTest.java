package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import dev.ffwd.TestData;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Fast Forward inside real training (tiny-llama): stages leave AdamW's state untouched, and the ledger adds up. */
class FastForwardRunTest {

    @TempDir Path tmp;

    @Test
    void stagesLeaveOptimizerStateUntouchedAndCostsAddUp() throws Exception {
        Path data = TestData.stories(tmp, 100, 4);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(12, 5e-3), 0.0))) {
            TrainingRun run = ft.newRun(FfConfig.paper().withInterval(3).withMaxRepeats(50), null);
            Map<String, float[][]> atStep = new LinkedHashMap<>();
            List<FastForward.Stage> stages = new ArrayList<>();
            long[] adamSteps = new long[2];
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {
                @Override
                public void onStep(Trainer t, double loss) {  // called between the optimizer step and the stage
                    atStep.clear();
                    t.optimizer().buffers().forEach((k, v) -> atStep.put(k, floats(v)));
                    adamSteps[0] = t.optimizer().steps();
                }

                @Override
                public void onStage(FastForward.Stage s) {
                    stages.add(s);
                    run.trainer().optimizer().buffers().forEach((k, v) -> {
                        float[][] before = atStep.get(k), after = floats(v);
                        for (int i = 0; i < before.length; i++) assertArrayEquals(before[i], after[i], k + " buffer " + i);
                    });
                    adamSteps[1] = run.trainer().optimizer().steps();
                    assertEquals(adamSteps[0], adamSteps[1]);
                }
            });
            assertEquals(4, stages.size());  // after steps 3, 6, 9, 12
            assertTrue(stages.stream().allMatch(s -> s.tau() >= 1 && s.evaluations() == s.tau()), stages.toString());

            // the ledger: FF cost = one forward pass of the 8 validation examples per evaluation
            dev.ffwd.flops.Ledger l = run.trainer().ledger();
            int evals = stages.stream().mapToInt(FastForward.Stage::evaluations).sum();
            assertEquals(evals, l.exact(dev.ffwd.flops.Ledger.Phase.FF) / perValidationPass(ft), 1e-9);
            assertEquals(l.paper(dev.ffwd.flops.Ledger.Phase.TRAIN) + l.paper(dev.ffwd.flops.Ledger.Phase.FF), l.flopsPaper());
            assertTrue(l.exact(dev.ffwd.flops.Ledger.Phase.TRAIN) < l.paper(dev.ffwd.flops.Ledger.Phase.TRAIN));
        }
    }

    /**
     * Under the probe budget, a stage whose two validation passes would cost more than 2% of the training so far
     * waits: 12 steps of 4 sequences never pay for two passes over 8 examples, so FF costs nothing, while the same
     * run without the budget stages at every interval. The budget prices a pass as the probes are then charged.
     */
    @Test
    void theProbeBudgetHoldsBackStagesTheTrainingCannotYetPayFor() throws Exception {
        Path data = TestData.stories(tmp, 100, 4);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(12, 5e-3), 0.0))) {
            for (boolean budget : new boolean[]{true, false}) {
                TrainingRun run = ft.newRun(FfConfig.defaults().withInterval(3).withAdaptive(false).withBudget(budget), null);
                assertEquals(perValidationPass(ft), run.trainer().passFlops(ft.splits.validation()), 1e-9);
                List<FastForward.Stage> stages = new ArrayList<>();
                run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {
                    @Override
                    public void onStage(FastForward.Stage s) {
                        stages.add(s);
                    }
                });
                dev.ffwd.flops.Ledger l = run.trainer().ledger();
                int n = ft.splits.validation().size();  // the first screen: 8 of its examples at θ_t and at θ_t + Δ
                assertTrue(2 * perValidationPass(ft) * Math.min(FfConfig.SCREEN_CHUNK, n) / n > FfConfig.PROBE_BUDGET * l.exact(dev.ffwd.flops.Ledger.Phase.TRAIN));
                assertEquals(budget ? 0 : 4, stages.size(), "budget " + budget);
                assertEquals(budget, l.exact(dev.ffwd.flops.Ledger.Phase.FF) == 0, "budget " + budget);
            }
        }
    }

    static double perValidationPass(FineTune ft) {
        List<dev.ffwd.data.Example> v = ft.splits.validation();
        int t = v.stream().mapToInt(dev.ffwd.data.Example::length).max().orElseThrow();
        return ft.flops().forward(v.size(), t);  // eval batch size 16 >= 8: one batch
    }

    static float[][] floats(NDArray[] a) {
        float[][] f = new float[a.length][];
        for (int i = 0; i < a.length; i++) f[i] = a[i].toFloatArray();
        return f;
    }
}
