package dev.ffwd.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The token ids that end a generation, found as transformers finds them: {@code eos_token_id} (one id or a list) in
 * generation_config.json, else in config.json, else the {@code eos_token} of tokenizer_config.json looked up in
 * tokenizer.json. Empty when the model names none.
 */
public final class Eos {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Eos() {}

    public static Set<Long> of(Path dir) {
        Set<Long> ids = fromConfig(dir.resolve("generation_config.json"));
        if (ids.isEmpty()) ids = fromConfig(dir.resolve("config.json"));
        if (ids.isEmpty()) ids = fromTokenizer(dir);
        return ids;
    }

    private static Set<Long> fromConfig(Path file) {
        Set<Long> ids = new LinkedHashSet<>();
        JsonNode v = read(file).path("eos_token_id");
        if (v.isIntegralNumber()) ids.add(v.asLong());
        else if (v.isArray()) v.forEach(e -> {
            if (!e.isIntegralNumber()) throw new FfwdException(file + ": eos_token_id entries must be integers, got " + e);
            ids.add(e.asLong());
        });
        else if (!v.isMissingNode() && !v.isNull()) throw new FfwdException(file + ": eos_token_id must be an integer or a list, got " + v);
        return ids;
    }

    private static Set<Long> fromTokenizer(Path dir) {
        JsonNode eos = read(dir.resolve("tokenizer_config.json")).path("eos_token");
        String token = eos.isTextual() ? eos.asText() : eos.path("content").asText(null);
        if (token == null) return Set.of();
        JsonNode tok = read(dir.resolve("tokenizer.json"));
        for (JsonNode a : tok.path("added_tokens"))
            if (token.equals(a.path("content").asText())) return Set.of(a.path("id").asLong());
        JsonNode id = tok.path("model").path("vocab").path(token);
        return id.isIntegralNumber() ? Set.of(id.asLong()) : Set.of();
    }

    private static JsonNode read(Path file) {
        if (!Files.isRegularFile(file)) return JSON.missingNode();
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new FfwdException(file + ": invalid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
