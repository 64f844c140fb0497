package dev.ffwd.train;

import dev.ffwd.TinyModels;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Precision;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** An executor's replica computes with the driver's memory settings, not the defaults (issue 14's gap). */
class ReplicaMemoryTest {

    @Test
    void theLanguageModelLossUsesTheDriversChunk() {
        Replica.Spec spec = new Replica.Spec(TinyModels.dir("tiny-llama").toString(), new LoraConfig(4, 8, 0, List.of("q_proj"), false), 0, Precision.FP32);
        try (Replica r = Replica.load(spec)) {
            assertEquals(3, ((LanguageModeling) r.objective(new TrainConfig.Memory(3, true))).lossChunk());
            assertEquals(TrainConfig.Memory.LOSS_CHUNK, ((LanguageModeling) r.objective(TrainConfig.Memory.defaults())).lossChunk());
        }
    }
}
