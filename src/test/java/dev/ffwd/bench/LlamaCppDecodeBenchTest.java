package dev.ffwd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ffwd.FfwdException;
import dev.ffwd.TinyModels;
import dev.ffwd.gguf.GgufWriter;
import dev.ffwd.gguf.LlamaCpp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * ffwd's decoding against the real llama.cpp on a tiny model: the whole path (GGUF export, the agreement check,
 * interleaved pairs) and the JSON it reports; another model's GGUF is refused. Skipped with a notice, as the other llama.cpp tests, without node or npm.
 */
class LlamaCppDecodeBenchTest {

    @TempDir
    Path tmp;

    @Test
    void comparesWithLlamaCppOnATinyModel() throws IOException {
        Path modules = LlamaCpp.modules();
        Map<String, Path> ggufs = new HashMap<>();
        for (String name : new String[]{"tiny-gpt-neox", "tiny-llama"}) {
            Path dir = copy(TinyModels.dir(name), tmp.resolve(name));
            Files.delete(dir.resolve("tokenizer.json"));  // as a bench shape: the export writes a placeholder vocabulary
            Path gguf = LlamaCppDecodeBench.export(dir, GgufWriter.TensorType.F32);
            ggufs.put(name, gguf);
            LlamaCppDecodeBench.Result r = LlamaCppDecodeBench.run(modules, dir, gguf, GgufWriter.TensorType.F32, 5, 12, 2);
            System.out.printf("%s: %s%n", name, r.check());
            JsonNode j = r.json();
            assertTrue(j.get("check").get("passed").asBoolean());
            assertEquals(LlamaCppDecodeBench.CHECKED_TOKENS, j.get("check").get("tokens_compared").asInt());
            assertEquals("F32", j.get("kv_cache").asText());
            for (String f : new String[]{"ours_tokens_per_s", "llamacpp_tokens_per_s"})
                for (String s : new String[]{"min", "median", "max"}) assertTrue(j.get(f).get(s).asDouble() > 0, f + "." + s);
            for (String s : new String[]{"min", "median", "max"}) assertTrue(j.get("ratio_vs_llamacpp_" + s).asDouble() > 0, s);
            assertEquals(2, j.get("llamacpp_prompt_seconds").size());
            assertTrue(r.ratio().min() <= r.ratio().median() && r.ratio().median() <= r.ratio().max());
        }
        // another model's GGUF (the same vocabulary): the check refuses to time
        FfwdException e = assertThrows(FfwdException.class, () -> LlamaCppDecodeBench.run(modules, tmp.resolve("tiny-gpt-neox"), ggufs.get("tiny-llama"),
                GgufWriter.TensorType.F32, 5, 12, 1));
        assertTrue(e.getMessage().contains("disagree on the greedy tokens"), e.getMessage());
    }

    @Test
    void aCheckPassesOnEqualTokensOrCloseLogprobs() {
        assertTrue(new LlamaCppDecodeBench.Check(8, 8, 0.5, 1e-3).passed());
        assertTrue(new LlamaCppDecodeBench.Check(8, 3, 5e-4, 1e-3).passed());
        assertFalse(new LlamaCppDecodeBench.Check(8, 3, 2e-3, 1e-3).passed());
        assertThrows(IllegalArgumentException.class, () -> new LlamaCppDecodeBench.Check(8, 9, 0, 1e-3));
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }
}
