package dev.ffwd.train;

import dev.ffwd.TinyModels;
import dev.ffwd.data.Example;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.flops.FlopCounter;
import dev.ffwd.flops.Ledger;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Pretrained;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Evaluation passes batch examples by length: each example's loss is its own, and padding shrinks. */
class EvaluationBatchesTest {

    @Test
    void passesBatchShortestFirstAndKeepEachExamplesLossInPlace() {
        int[] lengths = {12, 3, 11, 4, 10, 5, 9, 6};  // alternating: in this order every batch of 2 pads to a long row
        List<Example> set = MaskedLanguageModelingTest.masked(lengths);
        try (Pretrained p = Pretrained.load(TinyModels.dir("tiny-bert"))) {
            LoraConfig lora = new LoraConfig(2, 4, 0, List.of("query"), false);
            Trainable t = Trainable.attach(p.model(), lora, 0, 1, 64);
            FlopCounter flops = new FlopCounter(p.model().config, lora, 0);
            Trainer alone = t.trainer(TrainConfig.builder().evalBatchSize(1).build(), set, flops);
            Trainer pairs = t.trainer(TrainConfig.builder().evalBatchSize(2).build(), set, flops);
            FastForward.Probe one = alone.probe(set, Ledger.Phase.EVAL), two = pairs.probe(set, Ledger.Phase.EVAL);
            for (int i = 0; i < set.size(); i++)
                assertEquals(one.items()[i], two.items()[i], 1e-4, "example " + i + " (length " + lengths[i] + ") keeps its own loss");
            assertEquals(one.loss(), two.loss(), 1e-5);

            double inOrder = 0;  // what batches of 2 in the set's own order would have computed
            for (int i = 0; i < set.size(); i += 2) inOrder += flops.forward(set.subList(i, i + 2));
            List<Example> sorted = new ArrayList<>(set);
            sorted.sort(java.util.Comparator.comparingInt(Example::length));
            double byLength = 0;
            for (int i = 0; i < sorted.size(); i += 2) byLength += flops.forward(sorted.subList(i, i + 2));
            assertEquals(byLength, pairs.ledger().exact(Ledger.Phase.EVAL), 1e-6 * byLength, "batches of similar lengths");
            assertTrue(byLength < 0.8 * inOrder, byLength + " vs " + inOrder);
        }
    }
}
