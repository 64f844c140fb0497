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
            assertNull(h.points.get(0).accuracy(), "a language model has no accuracy");
            Map<String, float[]> after = snapshot(ft.pretrained.model().parameters());
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), "base weight " + k + " changed"));
        }
    }

    @Test
    void resumedRunEqualsUninterruptedRunBitForBit() throws Exception {
        // the paper's stage at step 6; and ffwd, whose Δ spans steps 5-8, so that the checkpoint at step 6 must carry
        // the pending snapshot of step 4 (without the probe budget, which would hold a stage this early back)
        for (FfConfig ff : List.of(FfConfig.paper(), FfConfig.defaults().withInterval(4).withParams(FfConfig.Params.ALL).withBudget(false)))
            resumeMatches(ff, TestData.config(9, 5e-3));
    }

    /**
     * Every optimizer, each at its own default learning rate with Fast Forward on top, resumes from a checkpoint file bit
     * for bit: its buffers and named scalars (Prodigy's d and sums, Schedule-Free's weight sum) go through the checkpoint,
     * and Schedule-Free's checkpoint holds y while its evaluations and stages saw x.
     */
    @Test
    void everyOptimizerResumesFromItsCheckpointBitForBit() throws Exception {
        for (var spec : dev.ffwd.optim.OptimizerSpec.TABLE.values()) {
            dev.ffwd.optim.OptimizerSpec o = spec.get();
            resumeMatches(FfConfig.defaults().withInterval(4).withBudget(false), TestData.config(9, o.defaultLr()).toBuilder().optimizer(o).build());
        }
    }

    private void resumeMatches(FfConfig ff, TrainConfig t) throws Exception {
        Path data = TestData.stories(tmp, 80, 2);
        Path ckpt = tmp.resolve("ck.safetensors");
        Files.deleteIfExists(ckpt);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, t, 0.1))) {
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
            String what = t.optimizer().name() + ", " + ff;
            for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), got.get(i), what + ": param " + i);
            assertEquals(full.history().points.stream().map(History.Point::testLoss).toList(),
                    b.history().points.stream().map(History.Point::testLoss).toList());
            assertEquals(full.history().stages.size(), b.history().stages.size());
            assertFalse(full.history().stages.isEmpty(), what + ": no stage ran");
            assertNotEquals(full.history().points.get(0).testLoss(), full.history().lastTestLoss(), what + ": training moved nothing");
        }
    }

    /**
     * A classifier's evaluations record the test accuracy and macro-F1 of their own forward passes; here recomputed
     * independently, from the head's log-probabilities in other batch sizes, argmax and counting by hand.
     */
    @Test
    void evaluationsRecordTheTestAccuracyAndMacroF1OfTheirPredictions() throws Exception {
        List<String> lines = new java.util.ArrayList<>();
        java.util.Random r = new java.util.Random(11);
        String[] good = {"great", "lovely", "happy"}, bad = {"awful", "sad", "poor"};
        for (int i = 0; i < 60; i++) {
            boolean pos = r.nextBoolean();
            lines.add("{\"text\": \"the day was " + (pos ? good : bad)[r.nextInt(3)] + "\", \"label\": \"" + (pos ? "pos" : "neg") + "\"}");
        }
        Path data = tmp.resolve("two.jsonl");
        Files.write(data, lines);
        FineTune.Options o = FineTune.Options.builder(dev.ffwd.model.Pretrained.BUILTIN, data,
                new dev.ffwd.lora.LoraConfig(4, 8, 0, List.of("query", "value"), false)).format(dev.ffwd.data.Format.CLASSIFICATION)
                .maxLength(12).train(TestData.config(4, 1e-2)).testFraction(0.5).validationSize(0).build();
        try (FineTune ft = FineTune.prepare(o)) {
            TrainingRun run = ft.newRun(FfConfig.off(), null);
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            History h = run.history();
            assertTrue(h.hasAccuracy(), "every evaluation of a classifier records accuracy");
            for (History.Point p : h.points) assertTrue(p.accuracy() >= 0 && p.accuracy() <= 1 && p.macroF1() >= 0 && p.macroF1() <= 1, p.toString());

            List<dev.ffwd.data.Example> test = ft.splits.test();
            float[][] lp = ((Classification) ft.objective()).logProbabilities(test, 5);  // the adapters as at the last evaluation
            int right = 0;
            int[][] confusion = new int[2][2];  // [gold][predicted]
            double nll = 0;
            for (int i = 0; i < lp.length; i++) {
                int gold = test.get(i).label(), predicted = lp[i][1] > lp[i][0] ? 1 : 0;
                if (gold == predicted) right++;
                confusion[gold][predicted]++;
                nll -= lp[i][gold];
            }
            double f1 = 0;
            for (int c = 0; c < 2; c++) f1 += 2.0 * confusion[c][c] / (2 * confusion[c][c] + confusion[1 - c][c] + confusion[c][1 - c]) / 2;
            History.Point last = h.points.get(h.points.size() - 1);
            assertEquals(right / (double) lp.length, last.accuracy(), 0, "accuracy of the last evaluation");
            assertEquals(f1, last.macroF1(), 1e-12, "macro-F1 of the last evaluation");
            assertEquals(nll / lp.length, last.testLoss(), 1e-5, "the accuracy comes from the passes that gave the test loss");
        }
    }

    /** Runs with a listener that aborts once {@code steps} are done (checkpoints land every 3 steps). */
    static void runUntil(TrainingRun run, long steps) {
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
