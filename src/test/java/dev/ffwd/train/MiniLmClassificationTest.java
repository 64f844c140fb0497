package dev.ffwd.train;

import dev.ffwd.RealData;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.optim.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA on the built-in pretrained MiniLM lowers the test loss on real data (SpamAssassin ham vs spam). */
class MiniLmClassificationTest {

    @Test
    void loraLowersTestLossOnSpamAssassin() {
        TrainConfig t = TrainConfig.builder().lr(1e-3).batchSize(16).maxSteps(24).evalEvery(8).evalBatchSize(64)
                .checkpointEvery(1000).seed(42).build();
        FineTune.Options o = FineTune.Options.builder(Pretrained.BUILTIN, RealData.file("spam-assassin.jsonl"),
                new LoraConfig(8, 16, 0.1, List.of("query", "key", "value"), false)).format(Format.CLASSIFICATION)
                .maxLength(64).train(t).testFraction(0.2).validationSize(32).limit(600).build();
        try (FineTune ft = FineTune.prepare(o)) {
            assertEquals(List.of("ham", "spam"), ft.labels);
            TrainingRun run = ft.newRun(FfConfig.off(), null);
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            double first = run.history().points.get(0).testLoss(), last = run.history().lastTestLoss();
            assertTrue(last < first - 0.1, "test loss " + first + " -> " + last);
        }
    }
}
