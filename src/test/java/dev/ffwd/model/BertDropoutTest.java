package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.TinyModels;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** BERT's own dropout (hidden_dropout_prob, attention_probs_dropout_prob): in training only, from the seeded generator. */
class BertDropoutTest {

    @TempDir Path tmp;

    @ParameterizedTest
    @CsvSource({"0.1, 0.0", "0.0, 0.1", "0.0, 0.0"})
    void dropoutAppliesInTrainingOnlyAndFollowsTheSeed(double hidden, double attention) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) json.readTree(TinyModels.dir("tiny-bert").resolve("config.json").toFile());
        cfg.put("hidden_dropout_prob", hidden).put("attention_probs_dropout_prob", attention);
        Files.copy(TinyModels.tokenizer("tiny-bert"), tmp.resolve("tokenizer.json"));
        RandomCheckpoint.write(tmp, json.writeValueAsString(cfg), 5);
        try (Pretrained p = Pretrained.load(tmp); NDManager m = NDManager.newBaseManager()) {
            assertEquals(new ModelConfig.Dropout(hidden, attention), p.model().config.dropout());
            NDArray ids = m.create(new long[][]{{2, 37, 38, 5, 36, 44, 56, 4, 43, 3}});   // [1, 10]
            NDArray mask = m.ones(ids.getShape(), ai.djl.ndarray.types.DataType.INT64);
            float[] eval = p.model().hidden(ids, mask, false).toFloatArray();
            float[] a = train(p, ids, mask, 1), again = train(p, ids, mask, 1), other = train(p, ids, mask, 2);
            assertArrayEquals(eval, p.model().hidden(ids, mask, false).toFloatArray(), "evaluation has no dropout");
            assertArrayEquals(a, again, "the same seed gives the same masks");
            if (hidden == 0 && attention == 0) {
                assertArrayEquals(eval, a, "no dropout configured: training computes what evaluation does");
            } else {
                assertFalse(Arrays.equals(eval, a), "dropout changes the training forward pass");
                assertFalse(Arrays.equals(a, other), "another seed draws other masks");
            }
        }
    }

    private static float[] train(Pretrained p, NDArray ids, NDArray mask, long seed) {
        JniUtils.setSeed(seed);
        return p.model().hidden(ids, mask, true).toFloatArray();
    }
}
