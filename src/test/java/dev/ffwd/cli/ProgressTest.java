package dev.ffwd.cli;

import dev.ffwd.train.History;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {

    @Test
    void theLineShowsAnEvaluationAsSoonAsItIsRecorded() {
        try (Progress p = new Progress(10)) {
            p.onArmStart("train", 10);
            p.onEval(new History.Point(10, 0, 0, 0, 0.1234, 0.2, 0.75, null));
            assertTrue(p.message().contains("test 0.1234 acc 0.750"), p.message());
        }
    }
}
