package dev.ffwd.train;

import dev.ffwd.RealData;
import dev.ffwd.data.Example;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Pretrained;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Masked language modelling with LoRA on the built-in MiniLM lowers the test loss on real text (Moby-Dick). */
class MiniLmMaskedLmTest {

    @Test
    void loraLowersMaskedLmTestLossOnMobyDick() {
        TrainConfig t = TrainConfig.builder().lr(2e-3).batchSize(8).maxSteps(8).evalEvery(8).evalBatchSize(32)
                .checkpointEvery(1000).seed(42).build();
        FineTune.Options o = FineTune.Options.builder(Pretrained.BUILTIN, RealData.file("moby-dick.jsonl"),
                new LoraConfig(8, 16, 0.05, List.of("query", "key", "value"), false)).format(Format.TEXT)
                .maxLength(64).train(t).testFraction(0.2).validationSize(0).limit(120).build();
        try (FineTune ft = FineTune.prepare(o)) {
            assertEquals(List.of(), ft.labels);
            for (Example e : ft.splits.test()) {
                assertNotNull(e.tokenLabels(), "masked examples");
                assertTrue(e.targetCount() >= 1);
            }
            float[] embeddings = ft.pretrained.model().parameters().get("embeddings.word_embeddings.weight").toFloatArray();
            TrainingRun run = ft.newRun(FfConfig.off(), null);
            assertInstanceOf(MaskedLanguageModeling.class, ft.objective());
            assertTrue(ft.objective().params().isEmpty(), "no head parameters: the adapters alone are trained");
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            double first = run.history().points.get(0).testLoss(), last = run.history().lastTestLoss();
            assertTrue(last < first - 0.5, "test loss " + first + " -> " + last);
            assertArrayEquals(embeddings, ft.pretrained.model().parameters().get("embeddings.word_embeddings.weight").toFloatArray(),
                    "the tied head (the word embeddings) is frozen");

        }
    }
}
