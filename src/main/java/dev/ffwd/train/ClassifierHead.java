package dev.ffwd.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * What a classification adapter needs besides its tensors, saved next to them as {@value #FILE} (PEFT ignores the
 * file): the label names in class-index order, how the head pools the encoder output, the head's HF module name, and
 * the max length the examples were truncated to in training.
 *
 * @param labels    class names; index i is row i of the head's weight (also written as HF's {@code id2label})
 * @param pooling   MEAN: the masked mean of the last hidden states (sentence-transformers' pooling, used for encoders);
 *                  LAST_TOKEN: the last hidden state of the last real token (as HF's *ForSequenceClassification for causal LMs)
 * @param module    the head's module name, "classifier" (BERT) or "score" (causal LMs), as in HF's classes
 * @param maxLength training's --max-length; longer inputs are truncated the same way at prediction time
 */
public record ClassifierHead(List<String> labels, Pooling pooling, String module, int maxLength) {

    public static final String FILE = "ffwd_classifier.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Pooling { MEAN, LAST_TOKEN }

    public ClassifierHead {
        if (labels == null || labels.size() < 2) throw new IllegalArgumentException("a classifier needs at least two labels, got " + labels);
        if (new HashSet<>(labels).size() != labels.size()) throw new IllegalArgumentException("duplicate label names in " + labels);
        if (pooling == null) throw new IllegalArgumentException("pooling must be set");
        if (module == null || module.isBlank()) throw new IllegalArgumentException("head module name must be set");
        if (maxLength < 2) throw new IllegalArgumentException("max length must be at least 2, got " + maxLength);
        labels = List.copyOf(labels);
    }

    public void save(Path adapterDir) {
        ObjectNode o = JSON.createObjectNode();
        labels.forEach(o.putArray("labels")::add);
        ObjectNode id2label = o.putObject("id2label");
        for (int i = 0; i < labels.size(); i++) id2label.put(Integer.toString(i), labels.get(i));
        o.put("pooling", pooling.name().toLowerCase());
        o.put("head", module);
        o.put("max_length", maxLength);
        try {
            AtomicFiles.writeString(adapterDir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
        } catch (IOException e) {
            throw new FfwdException(adapterDir.resolve(FILE) + ": cannot write: " + e.getMessage());
        }
    }

    /** The head description in {@code adapterDir}, or null when the adapter has none (a language-model adapter). */
    public static ClassifierHead load(Path adapterDir) {
        Path f = adapterDir.resolve(FILE);
        if (!Files.isRegularFile(f)) return null;
        JsonNode o;
        try {
            o = JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new FfwdException(f + ": invalid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode l = o.path("labels");
        if (!l.isArray()) throw new FfwdException(f + ": 'labels' must be an array of strings");
        List<String> labels = new ArrayList<>();
        l.forEach(n -> labels.add(n.asText()));
        String pooling = o.path("pooling").asText("");
        if (!pooling.equals("mean") && !pooling.equals("last_token"))
            throw new FfwdException(f + ": 'pooling' must be \"mean\" or \"last_token\", got '" + pooling + "'");
        try {
            Pooling p = Pooling.valueOf(pooling.toUpperCase());
            return new ClassifierHead(labels, p, o.path("head").asText(""), o.path("max_length").asInt(0));
        } catch (IllegalArgumentException e) {
            throw new FfwdException(f + ": " + e.getMessage());
        }
    }
}
