package dev.ffwd.bench;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.gguf.GgufWriter;
import dev.ffwd.gguf.ModelToGguf;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Scoring;
import dev.ffwd.model.Transformer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Greedy decoding in ffwd (KV cache, batch 1, as {@link DecodeBench} times it) against llama.cpp on a GGUF of the same
 * weights from the full-model export, with the same prompt, number of new tokens and threads. The engines take turns,
 * one pair at a time, after one warm-up each; model loading is timed on neither side. Each side's time covers the
 * prompt's pass and the one-token passes after it, so tokens/s is new tokens over that time on both; the prompt's pass
 * is also timed alone. Before any timing, the two must agree on the first greedy tokens, or (random weights make
 * near-ties) on the first token's log-probs, so that both time the same work.
 */
public final class LlamaCppDecodeBench {

    /** How many leading greedy tokens the engines are compared on. */
    static final int CHECKED_TOKENS = 8;

    private LlamaCppDecodeBench() {}

    /**
     * The agreement check: of the first {@code compared} greedy tokens, the {@code leadingEqual} first are the same in
     * both engines; {@code firstLogprobDiff} is the largest difference of the first generated position's log-probs,
     * which must be within {@code tolerance} unless all the tokens agree.
     */
    public record Check(int compared, int leadingEqual, double firstLogprobDiff, double tolerance) {
        public Check {
            if (compared < 1 || leadingEqual < 0 || leadingEqual > compared) throw new IllegalArgumentException(leadingEqual + " of " + compared + " tokens");
            if (!(tolerance > 0)) throw new IllegalArgumentException("tolerance " + tolerance);
        }

        public boolean passed() {
            return leadingEqual == compared || firstLogprobDiff <= tolerance;
        }
    }

    /** Per pair, in the order run: each engine's seconds for a whole decoding and for the prompt's pass alone. */
    public record Result(ModelConfig config, GgufWriter.TensorType type, int promptTokens, int newTokens, int threads, Check check,
                         double[] oursSeconds, double[] oursPromptSeconds, double[] llamaSeconds, double[] llamaPromptSeconds) {
        public Result {
            int n = oursSeconds.length;
            if (n == 0 || oursPromptSeconds.length != n || llamaSeconds.length != n || llamaPromptSeconds.length != n)
                throw new IllegalArgumentException("one time per pair and engine, at least one pair");
            if (!check.passed()) throw new IllegalArgumentException("a failed check has no timing");
            oursSeconds = oursSeconds.clone();
            oursPromptSeconds = oursPromptSeconds.clone();
            llamaSeconds = llamaSeconds.clone();
            llamaPromptSeconds = llamaPromptSeconds.clone();
        }

        public DecodeBench.Spread oursTokensPerSecond() {
            return DecodeBench.Spread.of(Arrays.stream(oursSeconds).map(s -> newTokens / s).toArray());
        }

        public DecodeBench.Spread llamaTokensPerSecond() {
            return DecodeBench.Spread.of(Arrays.stream(llamaSeconds).map(s -> newTokens / s).toArray());
        }

        /** ffwd's tokens/s over llama.cpp's, pair by pair. */
        public DecodeBench.Spread ratio() {
            return DecodeBench.Spread.of(IntStream.range(0, oursSeconds.length).mapToDouble(i -> llamaSeconds[i] / oursSeconds[i]).toArray());
        }

        /** The measurements, with {@code llamacpp_tokens_per_s} and {@code ratio_vs_llamacpp_min/median/max}. */
        public ObjectNode json() {
            ObjectNode o = new ObjectMapper().createObjectNode().put("dtype", type.name().toLowerCase(Locale.ROOT)).put("kv_cache", kvCache(type))
                    .put("prompt_tokens", promptTokens).put("new_tokens", newTokens).put("threads", threads).put("pairs", oursSeconds.length);
            o.putObject("check").put("tokens_compared", check.compared()).put("tokens_equal", check.leadingEqual())
                    .put("first_token_max_logprob_diff", check.firstLogprobDiff()).put("tolerance", check.tolerance()).put("passed", check.passed());
            spread(o.putObject("ours_tokens_per_s"), oursTokensPerSecond());
            spread(o.putObject("llamacpp_tokens_per_s"), llamaTokensPerSecond());
            DecodeBench.Spread r = ratio();
            o.put("ratio_vs_llamacpp_min", r.min()).put("ratio_vs_llamacpp_median", r.median()).put("ratio_vs_llamacpp_max", r.max());
            Arrays.stream(oursSeconds).forEach(o.putArray("ours_seconds")::add);
            Arrays.stream(oursPromptSeconds).forEach(o.putArray("ours_prompt_seconds")::add);
            Arrays.stream(llamaSeconds).forEach(o.putArray("llamacpp_seconds")::add);
            Arrays.stream(llamaPromptSeconds).forEach(o.putArray("llamacpp_prompt_seconds")::add);
            return o;
        }

        private static void spread(ObjectNode o, DecodeBench.Spread s) {
            o.put("min", s.min()).put("median", s.median()).put("max", s.max());
        }
    }

    /**
     * Exports {@code modelDir} as {@code model.gguf} beside it with tensors of {@code type}. The export writes the
     * tokenizer into the GGUF; a bench shape has none, so one naming each id ("t0", "t1", …) is written first, which
     * llama.cpp loads like any word-level vocabulary (only token ids are fed).
     */
    public static Path export(Path modelDir, GgufWriter.TensorType type) throws IOException {
        Path tokenizer = modelDir.resolve("tokenizer.json");
        if (!Files.exists(tokenizer)) {
            ObjectMapper json = new ObjectMapper();
            ObjectNode t = json.createObjectNode(), vocab = t.putObject("model").put("type", "WordLevel").put("unk_token", "t0").putObject("vocab");
            int v = ModelConfig.load(modelDir.resolve("config.json")).vocabSize();
            for (int i = 0; i < v; i++) vocab.put("t" + i, i);
            Files.writeString(tokenizer, json.writeValueAsString(t));
        }
        Path gguf = modelDir.resolve("model.gguf");
        ModelToGguf.export(modelDir, null, gguf, type, false);
        return gguf;
    }

    /**
     * Times {@code pairs} pairs on the model in {@code modelDir} and {@code gguf} (its export with tensors of
     * {@code type}), with llama.cpp from {@code modules} ({@link LlamaCppRunner#install}) on as many threads as the
     * engine has (the caller sets them) and a KV cache of {@code type}: F32, as ffwd's, for an F32 model; llama.cpp's
     * default F16 for an F16 model.
     */
    public static Result run(Path modules, Path modelDir, Path gguf, GgufWriter.TensorType type, int promptTokens, int newTokens, int pairs) {
        if (promptTokens < 1 || newTokens < 1 || pairs < 1)
            throw new IllegalArgumentException("decode bench: prompt tokens, new tokens and pairs must be >= 1");
        int threads = JniUtils.getNumThreads();
        return DecodeBench.withModel(modelDir, model -> {
            if (promptTokens + newTokens > model.config.maxPositions())
                throw new FfwdException(modelDir + ": " + promptTokens + " + " + newTokens + " tokens exceed the model's " + model.config.maxPositions() + " positions");
            long[] prompt = DecodeBench.prompt(model.config, promptTokens);
            try (LlamaCppRunner.Decoder llama = new LlamaCppRunner.Decoder(modules, gguf, threads, kvCache(type), promptTokens + newTokens)) {
                Check check = check(model, llama, prompt, Math.min(CHECKED_TOKENS, newTokens), tolerance(type, model.config.act()));
                if (!check.passed())
                    throw new FfwdException(String.format(Locale.ROOT, "%s: ffwd and llama.cpp disagree on the greedy tokens (%d of the first %d agree) "
                            + "and the first token's log-probs differ by %.2e > %.0e: they would not time the same work; no timing",
                            gguf, check.leadingEqual(), check.compared(), check.firstLogprobDiff(), check.tolerance()));
                int warm = Math.min(8, newTokens);
                DecodeBench.greedy(model, prompt, warm, true);
                llama.decode(prompt, warm);
                double[] ours = new double[pairs], oursPrompt = new double[pairs], theirs = new double[pairs], theirsPrompt = new double[pairs];
                for (int p = 0; p < pairs; p++) {
                    oursPrompt[p] = DecodeBench.greedy(model, prompt, 1, true).seconds();  // the prompt's pass and one token chosen, as llama.cpp's prompt_s
                    ours[p] = DecodeBench.greedy(model, prompt, newTokens, true).seconds();
                    LlamaCppRunner.Run r = llama.decode(prompt, newTokens);
                    theirs[p] = r.seconds();
                    theirsPrompt[p] = r.promptSeconds();
                }
                return new Result(model.config, type, promptTokens, newTokens, threads, check, ours, oursPrompt, theirs, theirsPrompt);
            } catch (IOException e) {
                throw new FfwdException("llama.cpp: " + e.getMessage());
            }
        });
    }

    private static Check check(Transformer model, LlamaCppRunner.Decoder llama, long[] prompt, int k, double tolerance) throws IOException {
        long[] ours = DecodeBench.greedy(model, prompt, k, true).tokens();
        LlamaCppRunner.Run theirs = llama.check(prompt, k);
        int equal = 0;
        while (equal < k && ours[equal] == theirs.tokens()[equal]) equal++;
        float[] a = Scoring.nextLogprobs(model, prompt);
        double[] b = theirs.firstLogprobs();
        if (a.length != b.length) throw new FfwdException("ffwd scores " + a.length + " tokens, llama.cpp " + b.length + ": not the same model");
        double diff = 0;
        for (int v = 0; v < a.length; v++) diff = Math.max(diff, Math.abs(a[v] - b[v]));
        return new Check(k, equal, diff, tolerance);
    }

    /** llama.cpp's KV cache type for a model of {@code type}. */
    static String kvCache(GgufWriter.TensorType type) {
        return type == GgufWriter.TensorType.F32 ? "F32" : "F16";
    }

    /**
     * How far the first token's log-probs may differ when the greedy tokens do. F32 with SiLU: 1e-3 (an F32 KV cache
     * brings llama.cpp within about 1e-6 of a float64 reference). F32 with GELU: 3e-3, as llama.cpp's CPU GELU reads the
     * tanh form from an fp16 table (1.4e-3 measured on pythia_160m's 12 layers). F16: 1e-2, as llama.cpp rounds the
     * activations to F16 for F16 matrix products and keeps an F16 KV cache (1.1e-3 measured on llama_small).
     */
    static double tolerance(GgufWriter.TensorType type, ModelConfig.Act act) {
        if (type != GgufWriter.TensorType.F32) return 1e-2;
        return act == ModelConfig.Act.SILU ? 1e-3 : 3e-3;
    }
}
