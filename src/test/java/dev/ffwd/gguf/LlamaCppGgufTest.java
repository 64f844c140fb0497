package dev.ffwd.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.SharedFixtures;
import dev.ffwd.TinyModels;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.io.TensorStore;
import dev.ffwd.lora.Lora;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Layout;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Sampling;
import dev.ffwd.model.Scoring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Our GGUF files in the real llama.cpp ({@link LlamaCpp}): a full model gives the fixture's (or variant's) float64
 * reference log-probabilities and greedy continuation; base + our GGUF LoRA adapter gives what the merged GGUF gives,
 * and what ffwd's merged model gives.
 *
 * <p>Tolerances follow what llama.cpp computes differently, measured on these fixtures: SiLU models agree within about
 * 5e-6 (1e-4 allowed); llama.cpp's CPU GELU is always the tanh form read through an F16 table, which moves
 * log-probs by up to about 1.1e-3 on these models, whether their GELU is the tanh form (Gemma, GPT-2) or the exact erf
 * (GPT-NeoX); 2e-3 is allowed there.
 */
class LlamaCppGgufTest {

    @TempDir Path tmp;
    static final int R = 4, GREEDY = 8;

    static double tolerance(ModelConfig c) {
        return switch (c.act()) {
            case SILU -> 1e-4;
            case GELU, GELU_TANH -> 2e-3;
        };
    }

    static Stream<String> models() {
        return Stream.concat(Stream.of("tiny-llama", "tiny-llama-bf16", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-gemma", "tiny-phi3", "tiny-gpt-neox", "tiny-gpt2"),
                Stream.of(VARIANTS));
    }

    /**
     * The configurations the fixtures lack (src/test/resources/variants, with float64 references of their own) that
     * llama.cpp can run; {@link #variantsLlamaCppCannotRunAreRefused} has the other two.
     */
    static final String[] VARIANTS = {"qwen3-gqa-hd12-tied", "phi3-partial-gqa", "llama-linear-rope-mqa", "gpt2-bare-ninner",
            "gpt-neox-sequential", "gpt-neox-rotary-full-tied"};
    static final Path VARIANT_SOURCE = Path.of("src/test/resources/variants");

    /**
     * Every fixture family and variant that export-gguf --full writes: llama.cpp's log-probs of the reference tokens,
     * and its greedy continuation of continuations.json's prompt (float64 greedy tokens, each chosen by a margin of at
     * least 1e-3 in logits).
     */
    @ParameterizedTest
    @MethodSource("models")
    void fullModelMatchesTheFloat64Reference(String name) throws IOException {
        boolean variant = Arrays.asList(VARIANTS).contains(name);
        Path model = variant ? materialize(tmp, name) : SharedFixtures.fixture(name), gguf = tmp.resolve(name + ".gguf");
        JsonNode ref = new ObjectMapper().readTree((variant ? VARIANT_SOURCE.resolve(name) : model).resolve("reference.json").toFile());
        JsonNode cont = new ObjectMapper().readTree(Path.of("src/test/resources/continuations.json").toFile()).get("models").get(name);
        long[] ids = ids(ref.get("token_ids")), prompt = ids(cont.get("prompt")), continuation = ids(cont.get("generated_ids"));
        ModelToGguf.export(model, null, gguf, GgufWriter.TensorType.F32, false);
        List<LlamaCpp.Result> got = LlamaCpp.eval(List.of(new LlamaCpp.Job(gguf, null, ids, 0), new LlamaCpp.Job(gguf, null, prompt, continuation.length)));

        ModelConfig cfg = ModelConfig.load(model.resolve("config.json"));
        double worst = 0;
        for (int t = 1; t < ids.length; t++) {
            double d = Math.abs(got.get(0).logprobs()[t - 1][(int) ids[t]] - ref.get("token_logprobs").get(t).asDouble());
            worst = Math.max(worst, d);
        }
        System.out.printf("%s: llama.cpp vs float64 reference, max |Δ log-prob| = %.2e%n", name, worst);
        assertTrue(worst < tolerance(cfg), name + ": max |Δ log-prob| " + worst + " ≥ " + tolerance(cfg));
        assertArrayEquals(continuation, got.get(1).greedy(), name + ": llama.cpp's greedy continuation vs float64's");
    }

    /**
     * Qwen2 with head_dim ≠ hidden / heads (llama.cpp's qwen2 graph sizes q from hidden_size) and Gemma with an untied
     * head (llama.cpp's gemma graph always multiplies by token_embd): refused in one line naming config.json, nothing
     * written. Written anyway, llama.cpp rejects the first's shapes and the second's extra tensor.
     */
    @Test
    void variantsLlamaCppCannotRunAreRefused() throws IOException {
        Map<String, String> why = Map.of("qwen2-mqa-untied-hd16", "llama.cpp's qwen2 graph assumes they are equal",
                "gemma-hd24-untied", "llama.cpp's gemma graph always uses the token embedding");
        for (var e : why.entrySet()) {
            Path model = materialize(tmp, e.getKey()), gguf = tmp.resolve(e.getKey() + ".gguf");
            FfwdException x = assertThrows(FfwdException.class, () -> ModelToGguf.export(model, null, gguf, GgufWriter.TensorType.F32, false));
            assertTrue(x.getMessage().startsWith(model.resolve("config.json").toString()) && x.getMessage().contains(e.getValue()), x.getMessage());
            assertFalse(Files.exists(gguf));
        }
    }

    /** Variant {@code name} as a model folder under {@code tmp}: its config and weights, and the fixtures' word-level tokenizer. */
    static Path materialize(Path tmp, String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(VARIANT_SOURCE.resolve(name).resolve(f), dir.resolve(f));
        Files.copy(TinyModels.tokenizer(), dir.resolve("tokenizer.json"));
        return dir;
    }

    /**
     * llama.cpp with base.gguf and our adapter.gguf equals llama.cpp with the merged model.gguf (every log-prob of every
     * position) and ffwd's merged model (the tokens' log-probs), with the same greedy continuation; and the adapter
     * changes the model, so these comparisons could fail.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-gemma", "tiny-phi3", "tiny-gpt-neox", "tiny-gpt2"})
    void adapterOnTheBaseEqualsTheMergedModel(String fixture) throws IOException {
        Path model = SharedFixtures.fixture(fixture), adapter = tmp.resolve("adapter");
        ModelConfig cfg = ModelConfig.load(model.resolve("config.json"));
        GgufFamily fam = GgufFamily.FAMILIES.get(cfg.modelType());
        writeAdapter(cfg, fam, model, adapter);
        long[] ids = ids(new ObjectMapper().readTree(model.resolve("reference.json").toFile()).get("token_ids"));
        Path base = tmp.resolve("base.gguf"), merged = tmp.resolve("merged.gguf"), lora = tmp.resolve("adapter.gguf");
        ModelToGguf.export(model, null, base, GgufWriter.TensorType.F32, false);
        ModelToGguf.export(model, adapter, merged, GgufWriter.TensorType.F32, false);
        LoraToGguf.export(model, adapter, lora, GgufWriter.TensorType.F32);
        List<LlamaCpp.Result> r = LlamaCpp.eval(List.of(new LlamaCpp.Job(base, lora, ids, GREEDY), new LlamaCpp.Job(merged, null, ids, GREEDY),
                new LlamaCpp.Job(base, null, ids, 0)));
        LlamaCpp.Result withAdapter = r.get(0), mergedGguf = r.get(1), plain = r.get(2);

        double adapterVsMerged = maxDiff(withAdapter.logprobs(), mergedGguf.logprobs()), effect = maxDiff(withAdapter.logprobs(), plain.logprobs());
        System.out.printf("%s: llama.cpp base+adapter vs merged GGUF, max |Δ log-prob| = %.2e (the adapter moves them by %.2f)%n", fixture,
                adapterVsMerged, effect);
        assertTrue(effect > 0.05, fixture + ": the adapter barely changes the model (" + effect + "); the comparison would prove nothing");
        // both sides are llama.cpp, so only the order of float operations differs (W·x + B·(A·x) against (W + B·A)·x);
        // through the F16 GELU table that can still reach a few 1e-5 (GPT-2), hence a tenth of the family's tolerance
        assertTrue(adapterVsMerged < tolerance(cfg) / 10, fixture + ": base + adapter vs merged model in llama.cpp: " + adapterVsMerged);
        assertArrayEquals(mergedGguf.greedy(), withAdapter.greedy(), fixture + ": greedy continuation, base + adapter vs merged");

        try (Pretrained p = Pretrained.load(model); PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
            Lora.load(p.model(), a.config(), a.tensors()).merge();
            double[] ours = Scoring.tokenLogprobs(p.model(), ids);
            double worst = 0;
            for (int t = 1; t < ids.length; t++) worst = Math.max(worst, Math.abs(ours[t] - withAdapter.logprobs()[t - 1][(int) ids[t]]));
            System.out.printf("%s: llama.cpp base+adapter vs ffwd merged, max |Δ log-prob| = %.2e%n", fixture, worst);
            assertTrue(worst < tolerance(cfg), fixture + ": llama.cpp base + adapter vs ffwd's merged model: " + worst);
            assertArrayEquals(Scoring.generate(p.model(), ids, GREEDY, Sampling.GREEDY, 0, Set.of(), true), withAdapter.greedy(),
                    fixture + ": greedy continuation, llama.cpp base + adapter vs ffwd merged");
        }
    }

    /**
     * Llama with attention_bias and mlp_bias: the biases travel under llama.cpp's names (q and k biases permuted with
     * their rows) and llama.cpp gives what ffwd computes. The tiny Llama's weights with random biases added.
     */
    @Test
    void llamaBiasesTravel() throws IOException {
        Path src = SharedFixtures.fixture("tiny-llama"), model = Files.createDirectories(tmp.resolve("llama-bias")), gguf = tmp.resolve("bias.gguf");
        Files.copy(src.resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Files.writeString(model.resolve("config.json"), Files.readString(src.resolve("config.json"))
                .replaceFirst("\\{", "{\"attention_bias\": true, \"mlp_bias\": true, "));
        ModelConfig cfg = ModelConfig.load(model.resolve("config.json"));
        Random rng = new Random(3);
        List<RawTensor> tensors = new ArrayList<>();
        try (TensorStore store = SafetensorsReader.openModelDir(src)) {
            for (String n : store.names()) tensors.add(RawTensor.ofFloats(n, store.get(n).shape(), store.get(n).toFloats()));
        }
        for (Layout.Module m : cfg.arch().layout(cfg).linears())
            tensors.add(RawTensor.ofFloats(m.name() + ".bias", new long[]{m.out()}, gaussian(rng, (int) m.out())));
        SafetensorsWriter.write(model.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        long[] ids = ids(new ObjectMapper().readTree(src.resolve("reference.json").toFile()).get("token_ids"));
        ModelToGguf.export(model, null, gguf, GgufWriter.TensorType.F32, false);
        double[][] got = LlamaCpp.eval(new LlamaCpp.Job(gguf, null, ids, 0)).logprobs();
        double[] ours, plain;
        try (Pretrained p = Pretrained.load(model)) {
            ours = Scoring.tokenLogprobs(p.model(), ids);
        }
        try (Pretrained p = Pretrained.load(src)) {
            plain = Scoring.tokenLogprobs(p.model(), ids);
        }
        assertLlamaCppMatches("llama with biases", ids, got, ours, plain, 0.05);
    }

    /**
     * llama.cpp has no DoRA, but a DoRA adapter merged by --full is plain weights: llama.cpp then gives what ffwd
     * computes with the adapter unmerged (m·(W + sBA)/‖W + sBA‖ applied in the forward pass).
     */
    @Test
    void doraMergedByFullExportRunsInLlamaCpp() throws IOException {
        Path model = SharedFixtures.fixture("tiny-qwen3"), adapter = tmp.resolve("dora"), gguf = tmp.resolve("dora.gguf");
        ModelConfig cfg = ModelConfig.load(model.resolve("config.json"));
        writeAdapter(cfg, GgufFamily.FAMILIES.get("qwen3"), model, adapter, true);
        long[] ids = ids(new ObjectMapper().readTree(model.resolve("reference.json").toFile()).get("token_ids"));
        ModelToGguf.export(model, adapter, gguf, GgufWriter.TensorType.F32, false);
        double[][] got = LlamaCpp.eval(new LlamaCpp.Job(gguf, null, ids, 0)).logprobs();
        double[] ours, plain;
        try (Pretrained p = Pretrained.load(model); PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
            plain = Scoring.tokenLogprobs(p.model(), ids);
            Lora.load(p.model(), a.config(), a.tensors());  // not merged: the DoRA forward pass
            ours = Scoring.tokenLogprobs(p.model(), ids);
        }
        assertLlamaCppMatches("DoRA merged", ids, got, ours, plain, 0.05);
    }

    /**
     * Llama 3.1's rope_scaling reaches llama.cpp as the rope_freqs tensor: the tiny Llama with that scaling added
     * (original context 16 tokens, so it acts within the 40 scored) gives in llama.cpp the log-probs ffwd computes
     * with the scaling; and the scaling matters here, since without it ffwd's differ by far more.
     */
    @Test
    void llama3RopeScalingTravelsAsRopeFreqs() throws IOException {
        Path src = SharedFixtures.fixture("tiny-llama"), model = Files.createDirectories(tmp.resolve("llama31")), gguf = tmp.resolve("llama31.gguf");
        for (String f : new String[]{"model.safetensors", "tokenizer.json"}) Files.copy(src.resolve(f), model.resolve(f));
        String cfg = Files.readString(src.resolve("config.json"));
        Files.writeString(model.resolve("config.json"), cfg.replaceFirst("\\{", "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, "
                + "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}, "));
        long[] ids = new long[40];
        for (int i = 0; i < ids.length; i++) ids[i] = 4 + (i * 37) % 90;
        ModelToGguf.export(model, null, gguf, GgufWriter.TensorType.F32, false);
        assertEquals(1, new GgufFile(gguf).tensors.stream().filter(t -> t.name().equals("rope_freqs.weight")).count());
        double[][] got = LlamaCpp.eval(new LlamaCpp.Job(gguf, null, ids, 0)).logprobs();
        double[] scaled, plain;
        try (Pretrained p = Pretrained.load(model)) {
            scaled = Scoring.tokenLogprobs(p.model(), ids);
        }
        try (Pretrained p = Pretrained.load(src)) {
            plain = Scoring.tokenLogprobs(p.model(), ids);
        }
        assertLlamaCppMatches("llama3 rope scaling", ids, got, scaled, plain, 1e-2);
    }

    /** --outtype f16: matrices in F16 (norms and biases stay F32) still give the reference within F16's rounding. */
    @Test
    void f16ModelStaysCloseToTheReference() throws IOException {
        Path model = SharedFixtures.fixture("tiny-qwen2"), gguf = tmp.resolve("f16.gguf");
        JsonNode ref = new ObjectMapper().readTree(model.resolve("reference.json").toFile());
        long[] ids = ids(ref.get("token_ids"));
        ModelToGguf.export(model, null, gguf, GgufWriter.TensorType.F16, false);
        GgufFile g = new GgufFile(gguf);
        assertEquals(1, g.tensor("blk.0.attn_q.weight").type(), "matrices in F16");
        assertEquals(0, g.tensor("blk.0.attn_q.bias").type(), "biases in F32");
        assertEquals(0, g.tensor("output_norm.weight").type(), "norms in F32");
        LlamaCpp.Result got = LlamaCpp.eval(new LlamaCpp.Job(gguf, null, ids, 0));
        double worst = 0;
        for (int t = 1; t < ids.length; t++)
            worst = Math.max(worst, Math.abs(got.logprobs()[t - 1][(int) ids[t]] - ref.get("token_logprobs").get(t).asDouble()));
        System.out.printf("tiny-qwen2 F16: llama.cpp vs float64 reference, max |Δ log-prob| = %.2e%n", worst);
        assertTrue(worst < 1e-2, "F16 model: " + worst);
    }

    /**
     * --outtype bf16 and q8_0 in llama.cpp, on the tiny Llama and the Qwen3 variant (whose 48-value rows Q8_0 writes
     * as F16): llama.cpp's log-probs against ffwd's on the same rounded weights ({@link #rounded}), and the greedy
     * continuation equal to ffwd's there.
     *
     * <p>The tolerance is relative, because these tiny random models are very sensitive and llama.cpp rounds more
     * than the weights: its CPU dot products also round the activations to the weights' type (BF16; Q8_0 blocks),
     * at the same precision. Measured (max |Δ log-prob| over the reference tokens): rounding the weights alone moves
     * ffwd by 1.6e-2 (Llama) and 6.5e-2 (Qwen3) in BF16, by 4.4e-2 and 0.24 in Q8_0; llama.cpp differs from ffwd on the
     * rounded weights by 1.5e-2, 4.3e-2, 2.8e-2 and 0.34, that is 0.64 to 1.41 times the weights' own effect. Required:
     * at most twice that effect. A misplaced block, scale or row moves log-probs by whole units instead.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bf16", "q8_0"})
    void lossyExportsGiveWhatFfwdComputesOnTheRoundedWeights(String outtype) throws IOException {
        GgufWriter.TensorType type = GgufWriter.TensorType.valueOf(outtype.toUpperCase(Locale.ROOT));
        List<Path> models = List.of(SharedFixtures.fixture("tiny-llama"), materialize(tmp, "qwen3-gqa-hd12-tied"));
        List<LlamaCpp.Job> jobs = new ArrayList<>();
        List<long[]> idsOf = new ArrayList<>();
        List<JsonNode> refs = new ArrayList<>();
        for (Path model : models) {
            Path gguf = tmp.resolve(model.getFileName() + "." + outtype + ".gguf");
            ModelToGguf.export(model, null, gguf, type, false);
            JsonNode ref = new ObjectMapper().readTree((model.startsWith(tmp) ? VARIANT_SOURCE.resolve(model.getFileName()) : model).resolve("reference.json").toFile());
            refs.add(ref);
            idsOf.add(ids(ref.get("token_ids")));
            jobs.add(new LlamaCpp.Job(gguf, null, idsOf.get(idsOf.size() - 1), GREEDY));
        }
        List<LlamaCpp.Result> got = LlamaCpp.eval(jobs);
        for (int m = 0; m < models.size(); m++) {
            long[] ids = idsOf.get(m);
            Path rounded = rounded(models.get(m), type);
            double[] ours, plain;
            long[] greedy;
            try (Pretrained p = Pretrained.load(rounded)) {
                ours = Scoring.tokenLogprobs(p.model(), ids);
                greedy = Scoring.generate(p.model(), ids, GREEDY, Sampling.GREEDY, 0, Set.of(), true);
            }
            try (Pretrained p = Pretrained.load(models.get(m))) {
                plain = Scoring.tokenLogprobs(p.model(), ids);
            }
            double vsRounded = 0, vsPlain = 0, effect = 0, vsRef = 0;
            for (int t = 1; t < ids.length; t++) {
                double l = got.get(m).logprobs()[t - 1][(int) ids[t]];
                vsRounded = Math.max(vsRounded, Math.abs(l - ours[t]));
                vsPlain = Math.max(vsPlain, Math.abs(l - plain[t]));
                effect = Math.max(effect, Math.abs(ours[t] - plain[t]));
                vsRef = Math.max(vsRef, Math.abs(l - refs.get(m).get("token_logprobs").get(t).asDouble()));
            }
            System.out.printf("%s %s: llama.cpp vs ffwd on the rounded weights, max |Δ log-prob| = %.2e (vs ffwd on the weights as they are %.2e, "
                    + "vs float64 %.2e; the rounding moves ffwd by %.2e)%n", models.get(m).getFileName(), outtype, vsRounded, vsPlain, vsRef, effect);
            assertTrue(effect > 1e-3, "the rounding barely changes the model: " + effect);
            assertTrue(vsRounded < 2 * effect, models.get(m).getFileName() + " " + outtype + ": llama.cpp vs ffwd on the rounded weights " + vsRounded
                    + ", the rounding's own effect " + effect);
            assertArrayEquals(greedy, got.get(m).greedy(), models.get(m).getFileName() + " " + outtype + ": greedy continuation");
        }
    }

    /**
     * A copy of {@code model} (a family without Conv1D weights or position tables) whose matrices hold what the export
     * writes as {@code type}: each [out, in] weight encoded and decoded along its rows as the GGUF does (the row
     * reorderings of the export move whole rows, so they do not change what a row rounds to). Stored as F32.
     */
    Path rounded(Path model, GgufWriter.TensorType type) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(model.getFileName() + "-" + type));
        for (String f : new String[]{"config.json", "tokenizer.json"}) Files.copy(model.resolve(f), dir.resolve(f));
        List<RawTensor> tensors = new ArrayList<>();
        try (TensorStore store = SafetensorsReader.openModelDir(model)) {
            for (String n : store.names()) {
                long[] shape = store.get(n).shape();
                float[] v = store.get(n).toFloats();
                if (shape.length == 2) {
                    GgufWriter.TensorType t = GgufWriter.typeOf(new GgufWriter.Tensor(n, new long[]{shape[1], shape[0]}, v), type);
                    v = GgufFile.decode(ByteBuffer.wrap(GgufWriter.encode(v, t, n)).order(ByteOrder.LITTLE_ENDIAN), 0, t.id, v.length);
                }
                tensors.add(RawTensor.ofFloats(n, shape, v));
            }
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }

    static long[] ids(JsonNode array) {
        long[] ids = new long[array.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = array.get(i).asLong();
        return ids;
    }

    static double maxDiff(double[][] a, double[][] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int t = 0; t < a.length; t++)
            for (int v = 0; v < a[t].length; v++) worst = Math.max(worst, Math.abs(a[t][v] - b[t][v]));
        return worst;
    }

    /**
     * A PEFT adapter on every linear layer llama.cpp takes LoRA for, with random A and B (σ 0.1, alpha 2r, so the
     * update is a sizeable fraction of the fixtures' weights, σ ≈ 0.2).
     */
    static void writeAdapter(ModelConfig cfg, GgufFamily fam, Path model, Path dir) {
        writeAdapter(cfg, fam, model, dir, false);
    }

    /** As {@link #writeAdapter(ModelConfig, GgufFamily, Path, Path)}; with {@code dora}, magnitudes near 1 as well. */
    static void writeAdapter(ModelConfig cfg, GgufFamily fam, Path model, Path dir, boolean dora) {
        Random rng = new Random(7);
        List<RawTensor> tensors = new ArrayList<>();
        List<String> modules = fam.linears().stream().map(GgufFamily.Module::hf).toList();
        for (Layout.Module m : cfg.arch().layout(cfg).linears()) {  // in and out as the model computes them (GPT-2 stores Conv1D [in, out])
            String key = Lora.PEFT_PREFIX + m.name();
            assertTrue(modules.stream().anyMatch(x -> m.name().equals(fam.layers() + "." + m.layer() + "." + x)), m.name() + " is not in the GGUF family");
            tensors.add(RawTensor.ofFloats(key + ".lora_A.weight", new long[]{R, m.in()}, gaussian(rng, R * (int) m.in())));
            tensors.add(RawTensor.ofFloats(key + ".lora_B.weight", new long[]{m.out(), R}, gaussian(rng, (int) m.out() * R)));
            if (dora) {
                float[] mag = gaussian(rng, (int) m.out());
                for (int i = 0; i < mag.length; i++) mag[i] += 1;
                tensors.add(RawTensor.ofFloats(key + ".lora_magnitude_vector", new long[]{m.out()}, mag));
            }
        }
        PeftAdapter.save(dir, new LoraConfig(R, 2 * R, 0, modules, dora), "CAUSAL_LM", model.toString(), List.of(), tensors);
    }

    static float[] gaussian(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (0.1 * rng.nextGaussian());
        return v;
    }

    /**
     * llama.cpp's next-token log-probs ({@code got}, by position) match ffwd's ({@code ours}) within 1e-4, and the
     * feature under test matters: ffwd without it ({@code plain}) differs by more than {@code minEffect}.
     */
    static void assertLlamaCppMatches(String what, long[] ids, double[][] got, double[] ours, double[] plain, double minEffect) {
        double worst = 0, effect = 0;
        for (int t = 1; t < ids.length; t++) {
            worst = Math.max(worst, Math.abs(got[t - 1][(int) ids[t]] - ours[t]));
            effect = Math.max(effect, Math.abs(plain[t] - ours[t]));
        }
        System.out.printf("%s: llama.cpp vs ffwd, max |Δ log-prob| = %.2e (without it they move by %.2e)%n", what, worst, effect);
        assertTrue(effect > minEffect, what + " barely changes the model: " + effect);
        assertTrue(worst < 1e-4, what + ": llama.cpp vs ffwd: " + worst);
    }
}
