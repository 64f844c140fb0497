package dev.ffwd.train;

import dev.ffwd.lora.LoraConfig;
import dev.ffwd.optim.Schedule;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Builders start from the named defaults, copy every field, and validate on build. */
class TrainConfigTest {

    @Test
    void builderStartsFromTheNamedDefaults() {
        TrainConfig d = TrainConfig.defaults();
        assertEquals(List.of(TrainConfig.LR, TrainConfig.CLIP_NORM, TrainConfig.LORA_PLUS_RATIO, TrainConfig.WEIGHT_DECAY),
                List.of(d.lr(), d.clipNorm(), d.loraPlusRatio(), d.weightDecay()));
        assertEquals(List.of((long) TrainConfig.BATCH_SIZE, (long) TrainConfig.GRAD_ACCUM, TrainConfig.MAX_STEPS, TrainConfig.WARMUP,
                        (long) TrainConfig.EVAL_EVERY, (long) TrainConfig.EVAL_BATCH_SIZE, (long) TrainConfig.CHECKPOINT_EVERY, TrainConfig.SEED),
                List.of((long) d.batchSize(), (long) d.gradAccum(), d.maxSteps(), d.warmup(), (long) d.evalEvery(), (long) d.evalBatchSize(),
                        (long) d.checkpointEvery(), d.seed()));
        assertEquals(Schedule.Kind.CONSTANT, d.schedule());
        assertEquals(dev.ffwd.optim.AdamW.Spec.defaults(), d.optimizer());
        assertEquals(TrainConfig.Memory.defaults(), d.memory());
    }

    @Test
    void toBuilderKeepsEveryFieldAndChangesOnlyWhatIsSet() {
        TrainConfig t = TrainConfig.builder().lr(3e-4).schedule(Schedule.Kind.COSINE).warmup(5).optimizer(new dev.ffwd.optim.Sgd.Spec(0.8))
                .weightDecay(0.01).clipNorm(0.5).loraPlusRatio(4).batchSize(3).gradAccum(2).maxSteps(17).evalEvery(4)
                .evalBatchSize(9).checkpointEvery(6).seed(99).memory(new TrainConfig.Memory(64, true)).build();
        assertEquals(t, t.toBuilder().build());
        TrainConfig longer = t.toBuilder().maxSteps(30).build();
        assertEquals(30, longer.maxSteps());
        assertEquals(t, longer.toBuilder().maxSteps(17).build());
    }

    @Test
    void paperOptimizerIsTheAuthorsAdamW() {
        TrainConfig p = TrainConfig.builder().optimizer(dev.ffwd.optim.Sgd.Spec.defaults()).clipNorm(2).weightDecay(0.1).paperOptimizer().build();
        assertEquals(new dev.ffwd.optim.AdamW.Spec(0.9, 0.999, 1e-6), p.optimizer());
        assertEquals(List.of(0.0, 0.0), List.of(p.clipNorm(), p.weightDecay()));
    }

    @Test
    void badSettingsAreRefusedOnBuild() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder().lr(-1).build());
        assertTrue(e.getMessage().contains("learning rate"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder().maxSteps(0).build());
        LoraConfig lora = LoraConfig.paper(List.of("q_proj"));
        assertThrows(IllegalArgumentException.class, () -> FineTune.Options.builder("m", Path.of("d"), lora).train(null).build());
        assertThrows(IllegalArgumentException.class, () -> FineTune.Options.builder("m", Path.of("d"), null).build());
    }

    @Test
    void optionsToBuilderKeepsEveryField() {
        FineTune.Options o = FineTune.Options.builder("m", Path.of("d.jsonl"), LoraConfig.paper(List.of("q_proj")))
                .format(dev.ffwd.data.Format.CHAT).maxLength(64).pack(true).train(TrainConfig.builder().seed(3).build())
                .testFraction(0.2).validationSize(5).limit(100).epochs(2.0).build();
        assertEquals(o, o.toBuilder().build());
        assertEquals(0, o.withValidationSize(0).validationSize());
        assertEquals(o, o.withValidationSize(0).withValidationSize(5));
    }
}
