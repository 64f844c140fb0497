package dev.ffwd.train;

import dev.ffwd.data.Dataset;
import dev.ffwd.data.Format;
import dev.ffwd.data.Record;
import dev.ffwd.data.Splits;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.flops.FlopCounter;
import dev.ffwd.io.Digests;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.Arch;
import dev.ffwd.model.Bf16;
import dev.ffwd.model.Precision;
import dev.ffwd.model.Pretrained;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The library entry point for LoRA fine-tuning: a model, a dataset split as in the paper, and fresh seeded
 * adapters per run, so that several runs (the arms of a comparison) start from the same θ₀ and see the same data.
 */
public final class FineTune implements AutoCloseable {

    /**
     * Everything a run is made of. {@code limit} > 0 keeps only that many records (after a seeded shuffle);
     * {@code epochs}, when set, replaces the step budget once the training split is known ({@link FineTune#prepare} sets
     * {@code train}'s max steps from it and keeps {@code epochs} as given). {@code precision}: what the frozen linear
     * products compute in ({@link Precision}; auto and bf16 are resolved against the CPU when the model loads).
     * Build one with {@link #builder}.
     */
    public record Options(String model, Path data, Format format, int maxLength, boolean pack, LoraConfig lora,
                          TrainConfig train, double testFraction, int validationSize, int limit, Double epochs, Precision precision) {
        public static final int MAX_LENGTH = 128;          // tokens per sequence
        public static final double TEST_FRACTION = 0.1;    // the paper's held-out share
        public static final int LIMIT = 0;                 // all records

        public Options {
            if (model == null || data == null || format == null || lora == null || train == null || precision == null)
                throw new IllegalArgumentException("model, data, format, LoRA, training settings and precision must be set");
            if (maxLength < 2) throw new IllegalArgumentException("max length must be >= 2 tokens, got " + maxLength);
            if (!(testFraction > 0 && testFraction < 1)) throw new IllegalArgumentException("test fraction must be in (0, 1), got " + testFraction);
            if (validationSize < 0) throw new IllegalArgumentException("validation size must be >= 0, got " + validationSize);
            if (limit < 0) throw new IllegalArgumentException("limit must be >= 0 (0 = all records), got " + limit);
            if (epochs != null && !(epochs > 0 && Double.isFinite(epochs))) throw new IllegalArgumentException("epochs must be positive, got " + epochs);
        }

        /** Options for {@code model} and {@code data} with the defaults above, the library's {@link TrainConfig#defaults()},
         *  Fast Forward's validation size and LoRA {@code lora}. */
        public static Builder builder(String model, Path data, LoraConfig lora) {
            return new Builder(model, data, lora);
        }

        public Builder toBuilder() {
            return new Builder(model, data, lora).format(format).maxLength(maxLength).pack(pack).train(train)
                    .testFraction(testFraction).validationSize(validationSize).limit(limit).epochs(epochs).precision(precision);
        }

        /** The same settings on another data file, read as {@code format}. */
        public Options on(Path data, Format format) {
            return new Options(model, data, format, maxLength, pack, lora, train, testFraction, validationSize, limit, epochs, precision);
        }

        /** Plain training (no Fast Forward) needs no validation set: pass 0, and the test split keeps those examples. */
        public Options withValidationSize(int n) {
            return toBuilder().validationSize(n).build();
        }

        /** Named settings over the defaults of {@link Options}; {@link #build()} validates them. */
        public static final class Builder {
            private final String model;
            private final Path data;
            private final LoraConfig lora;
            private Format format = Format.TEXT;
            private int maxLength = MAX_LENGTH;
            private boolean pack;
            private TrainConfig train = TrainConfig.defaults();
            private double testFraction = TEST_FRACTION;
            private int validationSize = FfConfig.VALIDATION_SIZE;
            private int limit = LIMIT;
            private Double epochs;
            private Precision precision = Precision.DEFAULT;

            private Builder(String model, Path data, LoraConfig lora) {
                this.model = model;
                this.data = data;
                this.lora = lora;
            }

            public Builder format(Format v) { format = v; return this; }
            public Builder maxLength(int v) { maxLength = v; return this; }
            public Builder pack(boolean v) { pack = v; return this; }
            public Builder train(TrainConfig v) { train = v; return this; }
            public Builder testFraction(double v) { testFraction = v; return this; }
            public Builder validationSize(int v) { validationSize = v; return this; }
            public Builder limit(int v) { limit = v; return this; }
            /** Null: the step budget of {@code train}. */
            public Builder epochs(Double v) { epochs = v; return this; }
            public Builder precision(Precision v) { precision = v; return this; }

            public Options build() {
                return new Options(model, data, format, maxLength, pack, lora, train, testFraction, validationSize, limit, epochs, precision);
            }
        }
    }

    public final Options options;
    public final Pretrained pretrained;
    public final Splits splits;
    public final List<String> labels;
    public final int truncated;
    /** What the frozen linear products compute in here: the options' choice resolved against this CPU, FP32 or BF16. */
    public final Precision precision;
    private Trainable trainable;  // the latest run's adapters, objective and head
    private Optimizer optimizer;
    private Gradients.Factory distributed;  // null: gradients in this process
    private Map<String, String> fingerprint;  // computed on first use (it reads the data file)
    private String baseDigest;

    private FineTune(Options o, Pretrained p, Splits s, List<String> labels, int truncated, Precision precision) {
        this.options = o;
        this.precision = precision;
        this.pretrained = p;
        this.splits = s;
        this.labels = labels;
        this.truncated = truncated;
    }

    public static FineTune prepare(Options o) {
        Dataset.Settings ds = new Dataset.Settings(o.format(), o.maxLength(), o.pack(), o.testFraction(), o.validationSize(), o.limit());
        List<Record> records = Dataset.read(o.data(), ds, Pretrained.resolve(o.model()), o.train().seed());  // chat: the model's template
        Pretrained p = Pretrained.load(o.model());
        try {
            Precision used = o.precision().on(Bf16.available());
            if (o.precision() != Precision.FP32) System.err.println(o.precision().describe(used));  // the default says nothing
            p.model().computeIn(used);
            dev.ffwd.data.Masking masking = o.format() == Format.CLASSIFICATION || p.model().config.causal() ? null
                    : MaskedLanguageModeling.masking(p.model(), p.tokenizer(), o.format(), o.model());  // an encoder on text
            Dataset d = Dataset.encode(records, p.tokenizer(), ds, o.data(), o.train().seed(), masking);
            if (o.epochs() != null) {
                TrainConfig t = o.train();
                long steps = Math.max(1, (long) Math.ceil(o.epochs() * d.splits().train().size() / (double) (t.batchSize() * t.gradAccum())));
                o = o.toBuilder().train(t.toBuilder().maxSteps(steps).build()).build();
            }
            return new FineTune(o, p, d.splits(), d.labels(), d.truncated(), used);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** The family's default targets (the paper's: query_key_value for Pythia, q/k/v/o_proj for Llama; query/key/value for BERT). */
    public static List<String> defaultTargets(Arch arch) {
        return arch.defaultTargets();
    }

    /** A run from fresh adapters (and head), seeded so that every run starts from the same θ₀. */
    public TrainingRun newRun(FfConfig ff, Path checkpoint) {
        return newRun(options.train(), ff, checkpoint);
    }

    /** A run with other optimisation settings (a learning rate of a grid, a step budget), from the same θ₀. */
    public TrainingRun newRun(TrainConfig t, FfConfig ff, Path checkpoint) {
        if (ff.enabled() && splits.validation().isEmpty())
            throw new IllegalArgumentException("Fast Forward needs a validation set; its size (--ff-val-size) is 0");
        if (trainable != null) trainable.release();
        if (optimizer != null) optimizer.close();  // an earlier run's moment buffers
        trainable = Trainable.attach(pretrained.model(), options.lora(), labels.size(), t.seed(), t.memory().lossChunk());
        Trainer trainer = trainable.trainer(t, splits.train(), flops(t));
        optimizer = trainer.optimizer();
        if (distributed != null) trainer.gradientsFrom(distributed.create(spec(), t, trainable.params()));
        return new TrainingRun(trainer, ff.enabled() ? new FastForward(ff) : null, splits.test(), splits.validation(), checkpoint,
                checkpoint == null ? Map.of() : fingerprint());
    }

    /** The base model's {@link Digests#model} digest (computed once). */
    public String baseDigest() {
        if (baseDigest == null) baseDigest = Digests.model(pretrained.dir());
        return baseDigest;
    }

    /**
     * What a checkpoint of this fine-tuning records besides the optimisation settings, and a resume must match: the
     * model (its config and weight headers, {@link Digests#model}), the data (its bytes, format and limit), the encoding,
     * the adapters, the splits (their seed is the training seed, which the optimisation settings hold) and the compute
     * precision used (bf16 rounds the frozen products, so it changes the trajectory).
     */
    public Map<String, String> fingerprint() {
        if (fingerprint == null) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("model_digest", baseDigest());
            m.put("data_digest", Digests.file(options.data()));
            m.put("format", options.format().name().toLowerCase(Locale.ROOT));
            m.put("limit", Integer.toString(options.limit()));
            m.put("max_length", Integer.toString(options.maxLength()));
            m.put("pack", Boolean.toString(options.pack()));
            LoraConfig l = options.lora();
            m.put("lora_r", Integer.toString(l.rank()));
            m.put("lora_alpha", Double.toString(l.alpha()));
            m.put("lora_dropout", Double.toString(l.dropout()));
            m.put("lora_targets", String.join(",", l.targets()));
            m.put("dora", Boolean.toString(l.dora()));
            m.put("test_fraction", Double.toString(options.testFraction()));
            m.put("validation_size", Integer.toString(options.validationSize()));
            if (precision != Precision.FP32) m.put("precision", precision.label());  // absent in fp32, as before it existed
            fingerprint = Map.copyOf(m);
        }
        return fingerprint;
    }

    /**
     * Later runs compute their step gradients with {@code factory} (a cluster) instead of in this process; null goes back
     * to this process. Clipping, the optimizer, Fast Forward and evaluation stay here either way.
     */
    public void distribute(Gradients.Factory factory) {
        this.distributed = factory;
    }

    /** What another process needs to rebuild this fine-tuning's trainable setup. */
    public Replica.Spec spec() {
        return new Replica.Spec(pretrained.dir().toAbsolutePath().toString(), options.lora(), labels.size(), precision);
    }

    public FlopCounter flops() {
        return flops(options.train());
    }

    private FlopCounter flops(TrainConfig t) {
        return new FlopCounter(pretrained.model().config, options.lora(), labels.size(), t.memory().checkpointActivations());
    }

    /** The objective of the latest run (a {@link Classification} when the data has labels), or null before the first run. */
    public Objective objective() {
        return trainable == null ? null : trainable.objective();
    }

    /**
     * Writes the current adapters (and head) in PEFT format; a classification adapter also gets {@link ClassifierHead#FILE}.
     * Classification adapters use the task class's module names ({@link PeftAdapter#modulePrefix}); adapters on
     * GPT-2's Conv1D layers say {@code fan_in_fan_out}, as PEFT does.
     */
    public void saveAdapter(Path dir) {
        String task = labels.isEmpty() ? "CAUSAL_LM" : "SEQ_CLS";
        String prefix = PeftAdapter.modulePrefix(pretrained.model().config.arch(), task);
        List<RawTensor> tensors = new ArrayList<>();
        for (Param p : trainable.lora().params())
            tensors.add(RawTensor.ofFloats(PeftAdapter.adapterKey(p.name(), prefix), p.value().getShape().getShape(), p.toFloats()));
        List<RawTensor> heads = trainable.objective().params().stream()
                .map(p -> RawTensor.ofFloats(p.name(), p.value().getShape().getShape(), p.toFloats())).toList();
        tensors.addAll(heads);
        List<String> save = PeftAdapter.modulesToSave(heads);
        boolean conv1d = pretrained.model().layout().linears().stream().anyMatch(m -> m.conv1d() && options.lora().matches(m.name()));
        PeftAdapter.save(dir, options.lora(), task, pretrained.dir().toAbsolutePath().toString(), save, tensors, prefix, conv1d,
                new PeftAdapter.Base(pretrained.model().config.modelType(), baseDigest()));
        if (!labels.isEmpty()) {
            boolean causal = pretrained.model().config.causal();
            new ClassifierHead(labels, causal ? ClassifierHead.Pooling.LAST_TOKEN : ClassifierHead.Pooling.MEAN, save.get(0),
                    options.maxLength()).save(dir);
        }
    }

    @Override
    public void close() {
        pretrained.close();
    }
}
