package dev.ffwd.io;

import dev.ffwd.FfwdException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class OnnxWeightsTest {

    static byte[] onnx;

    @BeforeAll
    static void read() throws IOException {
        try (InputStream in = OnnxWeightsTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            onnx = in.readAllBytes();
        }
    }

    @Test
    void mapsEveryWeightToItsHuggingFaceName() {
        Map<String, RawTensor> w = OnnxWeights.readHfWeights(ByteBuffer.wrap(onnx), "minilm");
        Set<String> expected = new HashSet<>();
        for (String e : new String[]{"word_embeddings", "position_embeddings", "token_type_embeddings"}) expected.add("embeddings." + e + ".weight");
        expected.add("embeddings.LayerNorm.weight");
        expected.add("embeddings.LayerNorm.bias");
        for (int i = 0; i < 6; i++) {
            String p = "encoder.layer." + i + ".";
            for (String m : new String[]{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                    "intermediate.dense", "output.dense", "attention.output.LayerNorm", "output.LayerNorm"}) {
                expected.add(p + m + ".weight");
                expected.add(p + m + ".bias");
            }
        }
        assertEquals(expected, w.keySet());
        assertArrayEquals(new long[]{384, 384}, w.get("encoder.layer.3.attention.self.query.weight").shape());
        assertArrayEquals(new long[]{1536, 384}, w.get("encoder.layer.0.intermediate.dense.weight").shape());
        assertArrayEquals(new long[]{384, 1536}, w.get("encoder.layer.5.output.dense.weight").shape());
        assertArrayEquals(new long[]{30522, 384}, w.get("embeddings.word_embeddings.weight").shape());
    }

    @Test
    void truncatedOrCorruptFilesGiveCleanErrors() {
        for (int cut : new int[]{0, 1, 100, onnx.length / 3, onnx.length - 10}) {
            FfwdException e = assertThrows(FfwdException.class,
                    () -> OnnxWeights.readHfWeights(ByteBuffer.wrap(Arrays.copyOf(onnx, cut)), "cut-" + cut + ".onnx"), "cut at " + cut);
            assertTrue(e.getMessage().startsWith("cut-" + cut + ".onnx: "), e.getMessage());
        }
        Random r = new Random(3);
        for (int i = 0; i < 30; i++) {
            byte[] b = Arrays.copyOf(onnx, 4096 + r.nextInt(4096));  // corrupt the graph structure near the start
            b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            assertThrows(FfwdException.class, () -> OnnxWeights.readHfWeights(ByteBuffer.wrap(b), "x.onnx"));
        }
    }
}
