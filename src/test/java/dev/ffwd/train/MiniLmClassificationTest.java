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
        TrainConfig t = new TrainConfig(1e-3, Schedule.Kind.CONSTANT, 0, TrainConfig.OptimizerKind.ADAMW, 0, 1.0, TrainConfig.ADAM_EPS, 0.9, 16, 1, 24, 8, 64, 1000, 42, TrainConfig.Memory.defaults());
        FineTune.Options o = new FineTune.Options(Pretrained.BUILTIN, RealData.file("spam-assassin.jsonl"), Format.CLASSIFICATION,
                64, false, new LoraConfig(8, 16, 0.1, List.of("query", "key", "value"), false), t, 0.2, 32, 600, null);
        try (FineTune ft = FineTune.prepare(o)) {
            assertEquals(List.of("ham", "spam"), ft.labels);
            TrainingRun run = ft.newRun(FfConfig.off(), null);
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            double first = run.history().points.get(0).testLoss(), last = run.history().lastTestLoss();
            assertTrue(last < first - 0.1, "test loss " + first + " -> " + last);
        }
    }
}
