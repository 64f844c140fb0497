package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The built-in MiniLM, imported from ONNX and run by our BERT, against langchain4j running the same file in ONNX Runtime. */
class MiniLmReferenceTest {

    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Fellow citizens of the Senate and of the House of Representatives.",
            "Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about a little.",
            "LoRA adapters are trained while the pretrained weights stay frozen.",
            "Is this e-mail spam? Click here to claim your free prize!!!");

    @Test
    void sentenceEmbeddingsMatchOnnxRuntime() {
        AllMiniLmL6V2EmbeddingModel reference = new AllMiniLmL6V2EmbeddingModel();
        try (Pretrained p = Pretrained.load(Pretrained.BUILTIN)) {
            assertEquals(22_565_376, p.model().parameterCount(), 1_000_000);
            for (String s : SENTENCES) {
                float[] ours = embed(p, s), theirs = reference.embed(s).content().vector();
                double cos = cosine(ours, theirs);
                assertTrue(cos >= 0.9999, "cosine " + cos + " for: " + s);
            }
        }
    }

    /** Mean pooling over the mask, L2-normalised, as sentence-transformers does. */
    static float[] embed(Pretrained p, String text) {
        long[] ids = p.tokenizer().encode(text);
        try (NDScope ignored = new NDScope()) {
            NDArray x = p.model().manager().create(ids, new Shape(1, ids.length));
            NDArray mask = x.onesLike();
            NDArray e = p.model().pool(p.model().hidden(x, mask, false), mask);
            return e.div(e.norm()).toFloatArray();
        }
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }
}
