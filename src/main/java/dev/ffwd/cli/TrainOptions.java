package dev.ffwd.cli;

import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Precision;
import dev.ffwd.model.Pretrained;
import dev.ffwd.optim.AdamW;
import dev.ffwd.optim.OptimizerSpec;
import dev.ffwd.optim.Schedule;
import dev.ffwd.report.Experiment;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.Method;
import dev.ffwd.train.TrainConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Options shared by train, compare and demo. Defaults are the library's named constants. Any option may also come
 * from --config FILE (YAML or JSON, any command) or --preset NAME; the command line wins over both.
 */
final class TrainOptions {
    @Mixin ModelOption model;
    @Option(names = "--data", paramLabel = "FILE.jsonl", description = "Training data (JSONL); '-' reads standard input.") Path data;
    @Option(names = "--format", defaultValue = "text", description = "text | instruction | chat | classification (default: ${DEFAULT-VALUE}).") String format;
    @Option(names = "--lora-r", defaultValue = "" + LoraConfig.RANK, description = "LoRA rank (default: ${DEFAULT-VALUE}).") int loraR;
    @Option(names = "--lora-alpha", defaultValue = "" + LoraConfig.ALPHA, description = "LoRA alpha; the update is scaled by alpha/r (default: ${DEFAULT-VALUE}).") double loraAlpha;
    @Option(names = "--lora-dropout", defaultValue = "" + LoraConfig.DROPOUT, description = "Dropout on the LoRA input (default: ${DEFAULT-VALUE}).") double loraDropout;
    @Option(names = "--targets", split = ",", description = "Module names to adapt (default: the paper's for the architecture).") List<String> targets;
    @Option(names = "--dora", description = "Weight-decomposed LoRA.") boolean dora;
    @Option(names = "--lr", description = "Learning rate. Without --lr and --optimizer, the tuning-free default runs: "
            + Method.DEFAULT + " at its own default (see docs/results.md for the measurement); with --optimizer alone, "
            + "that optimizer's published default; with --lr alone, AdamW (the paper's lr: " + TrainConfig.LR + ").") String lr;
    @Option(names = "--schedule", defaultValue = "constant", description = "constant | linear | cosine (default: ${DEFAULT-VALUE}).") String schedule;
    @Option(names = "--warmup", defaultValue = "" + TrainConfig.WARMUP, description = "Learning-rate warm-up steps (default: ${DEFAULT-VALUE}).") long warmup;
    @Option(names = "--optimizer", description = "${COMPLETION-CANDIDATES}, each with its published defaults "
            + "(default: adamw when --lr is given, else the tuning-free default " + Method.DEFAULT + ").",
            completionCandidates = OptimizerNames.class) String optimizer;
    @Option(names = "--lora-plus-ratio", defaultValue = "" + TrainConfig.LORA_PLUS_RATIO, description = "LoRA+: lora_B's learning rate over lora_A's, "
            + "e.g. 16 (adamw and sgd; default: ${DEFAULT-VALUE}, plain LoRA).") double loraPlusRatio;
    @Option(names = "--weight-decay", defaultValue = "" + TrainConfig.WEIGHT_DECAY, description = "Decoupled weight decay (default: ${DEFAULT-VALUE}).") double weightDecay;
    @Option(names = "--adam-eps", description = "AdamW epsilon (default: " + AdamW.Spec.EPS + "; the authors' transformers.AdamW: 1e-6).") Double adamEps;
    @Option(names = "--clip", defaultValue = "" + TrainConfig.CLIP_NORM, description = "Global gradient-norm clip, 0 = off (default: ${DEFAULT-VALUE}).") double clip;
    @Option(names = "--batch-size", defaultValue = "" + TrainConfig.BATCH_SIZE, description = "Sequences per micro-batch (default: ${DEFAULT-VALUE}).") int batchSize;
    @Option(names = "--grad-accum", defaultValue = "" + TrainConfig.GRAD_ACCUM, description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).") int gradAccum;
    @Option(names = "--max-length", defaultValue = "" + FineTune.Options.MAX_LENGTH, description = "Tokens per sequence (default: ${DEFAULT-VALUE}).") int maxLength;
    @Option(names = "--loss-chunk", defaultValue = "" + TrainConfig.Memory.LOSS_CHUNK, description = "Positions whose logits the loss forms at once; less memory, same result (default: ${DEFAULT-VALUE}).") int lossChunk;
    @Option(names = "--checkpoint-activations", description = "Keep only each block's input and recompute the block in backward: "
            + "less memory, same result, about one more forward pass of time.") boolean checkpointActivations = TrainConfig.Memory.CHECKPOINT_ACTIVATIONS;
    @Option(names = "--precision", paramLabel = "fp32|bf16|auto", description = "What the frozen matrix products of the transformer blocks "
            + "compute in: bf16 where the CPU has bf16 instructions (avx512_bf16 or amx_bf16; elsewhere fp32, with a line saying so), "
            + "with LoRA, its gradients, the optimizer state and the loss in fp32; auto picks bf16 where the CPU has them (default: "
            + "${DEFAULT-VALUE}, until a full step has been measured faster in bf16; docs/performance.md).")
    String precision = Precision.DEFAULT.label();
    @Option(names = "--pack", description = "Pack text examples into full rows.") boolean pack;
    @Option(names = "--max-steps", defaultValue = "" + TrainConfig.MAX_STEPS, description = "Optimizer step budget (default: ${DEFAULT-VALUE}).") long maxSteps;
    @Option(names = "--epochs", description = "Train for this many epochs (overrides --max-steps).") Double epochs;
    @Option(names = "--eval-every", defaultValue = "" + TrainConfig.EVAL_EVERY, description = "Steps between test-loss evaluations (default: ${DEFAULT-VALUE}).") int evalEvery;
    @Option(names = "--eval-batch-size", defaultValue = "" + TrainConfig.EVAL_BATCH_SIZE, description = "Sequences per evaluation batch (default: ${DEFAULT-VALUE}).") int evalBatchSize;
    @Option(names = "--checkpoint-every", defaultValue = "" + TrainConfig.CHECKPOINT_EVERY, description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).") int checkpointEvery;
    @Option(names = "--test-fraction", defaultValue = "" + FineTune.Options.TEST_FRACTION, description = "Share of the data held out for testing (default: ${DEFAULT-VALUE}).") double testFraction;
    @Option(names = "--limit", defaultValue = "" + FineTune.Options.LIMIT, description = "Use at most this many records, 0 = all (default: ${DEFAULT-VALUE}).") int limit;
    @Option(names = "--seed", defaultValue = "" + TrainConfig.SEED, description = "Seed for splits, initialisation, data order and dropout (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--preset", paramLabel = "NAME", description = "Option defaults from a named protocol: ${COMPLETION-CANDIDATES}.", completionCandidates = Presets.Names.class) String preset;

    // Data-parallel training on Spark
    @Option(names = "--spark-master", paramLabel = "URL", description = "Compute each step's gradient data-parallel on Spark: local[N], "
            + "spark://HOST:PORT, or 'submit' (the master spark-submit set). Needs Spark on the class path (./ffwd adds it).") String sparkMaster;
    @Option(names = "--spark-conf", paramLabel = "KEY=VALUE", description = "A Spark setting, e.g. spark.executor.memory=4g (repeatable).") Map<String, String> sparkConf;

    // Fast Forward
    @Option(names = "--ff-mode", defaultValue = "ffwd", completionCandidates = FfVariants.class,
            description = "Fast Forward variant, e.g. ffwd, paper, ffwd-guard, search+span (default: ${DEFAULT-VALUE}). Variants: ${COMPLETION-CANDIDATES}.") String ffMode;

    /** --ff-mode's help, from the table the parser reads. */
    static final class FfVariants extends java.util.ArrayList<String> {
        FfVariants() {
            super(List.of(FfConfig.described().replace("%", "%%")));  // picocli formats help text: "2%" would be a specifier
        }
    }
    @Option(names = "--ff-interval", defaultValue = "" + FfConfig.INTERVAL, description = "Optimizer steps between FF stages (default: ${DEFAULT-VALUE}).") int ffInterval;
    @Option(names = "--ff-warmup", defaultValue = "0", description = "Optimizer steps before FF stages are counted (burn-in; default: ${DEFAULT-VALUE}).") long ffWarmup;
    @Option(names = "--ff-params", defaultValue = "lora", description = "Tensors FF moves: lora (adapters only, as the authors) | all (a classification head too) (default: ${DEFAULT-VALUE}).") String ffParams;
    @Option(names = "--ff-val-size", defaultValue = "" + FfConfig.VALIDATION_SIZE, description = "Tiny validation set size, held out of test (default: ${DEFAULT-VALUE}).") int ffValSize;
    @Option(names = "--ff-max-repeats", defaultValue = "" + FfConfig.MAX_REPEATS, description = "Largest multiple of Δ a stage may add (default: ${DEFAULT-VALUE}).") int ffMaxRepeats;

    /**
     * Makes {@code ft}'s runs compute their step gradients on the --spark-master cluster, if one was given. Spark's
     * classes are touched only then, so the CLI starts without them otherwise.
     */
    Experiment.Attachment distribute(FineTune ft) {
        if (sparkMaster == null) {
            if (sparkConf != null) throw new IllegalArgumentException("--spark-conf needs --spark-master");
            return () -> {};
        }
        try {
            return SparkLink.attach(ft, sparkMaster.trim(), sparkConf == null ? Map.of() : sparkConf);
        } catch (NoClassDefFoundError e) {
            throw new dev.ffwd.FfwdException("--spark-master needs Apache Spark on the class path (" + e.getMessage()
                    + " is missing); run through ./ffwd, which adds target/lib, or through spark-submit");
        }
    }

    /** The Fast Forward settings every variant shares. */
    FfConfig ffBase() {
        return FfConfig.defaults().withInterval(ffInterval).withWarmup(ffWarmup)
                .withMaxRepeats(ffMaxRepeats).withParams(Choice.of(FfConfig.Params.class, ffParams, "--ff-params"));
    }

    /** The variant of --ff-mode, or Fast Forward off; the default method's variant when it has one and --ff is not given. */
    FfConfig ff(boolean enabled) {
        if (enabled) return FfConfig.parse(ffMode, ffBase());
        Method m = defaultMethod();
        return m != null ? m.ff() : FfConfig.off();
    }

    /** For picocli's ${COMPLETION-CANDIDATES}. */
    static final class OptimizerNames extends java.util.ArrayList<String> {
        OptimizerNames() {
            super(OptimizerSpec.TABLE.keySet());
        }
    }

    /** The tuning-free default method when neither --lr nor --optimizer is given; else null. */
    Method defaultMethod() {
        return lr == null && optimizer == null ? Method.parse(Method.DEFAULT, ffBase()) : null;
    }

    /** The optimizer: --optimizer, else AdamW when --lr is given, else the default method's. */
    OptimizerSpec optimizerSpec() {
        OptimizerSpec spec = optimizer != null ? OptimizerSpec.parse(optimizer) : lr != null ? AdamW.Spec.defaults() : defaultMethod().optimizer();
        if (adamEps == null) return spec;
        if (!(spec instanceof AdamW.Spec a)) throw new IllegalArgumentException("--adam-eps applies to adamw, not to " + spec.name());
        return a.withEps(adamEps);
    }

    /** The learning rate as written (reports key learning rates by their text): --lr, else the optimizer's default. */
    String lrText() {
        if (lr != null) return lr.trim();
        Method m = defaultMethod();
        return Double.toString(m != null ? m.lr() : optimizerSpec().defaultLr());
    }

    double lr() {
        try {
            return Double.parseDouble(lrText());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--lr must be a number, got '" + lr + "'");
        }
    }

    FineTune.Options options() {
        if (data == null) throw new IllegalArgumentException("--data FILE.jsonl is required");
        List<String> t = targets;
        if (t == null || t.isEmpty()) t = FineTune.defaultTargets(modelConfig().arch());
        TrainConfig tc = TrainConfig.builder().lr(lr()).schedule(Choice.of(Schedule.Kind.class, schedule, "--schedule")).warmup(warmup)
                .optimizer(optimizerSpec()).weightDecay(weightDecay).clipNorm(clip).loraPlusRatio(loraPlusRatio).batchSize(batchSize).gradAccum(gradAccum).maxSteps(maxSteps).evalEvery(evalEvery)
                .evalBatchSize(evalBatchSize).checkpointEvery(checkpointEvery).seed(seed)
                .memory(new TrainConfig.Memory(lossChunk, checkpointActivations)).build();
        data = DataFile.resolve(data);  // once: a stream is copied to a file, which later calls then read
        return FineTune.Options.builder(model.model, data, new LoraConfig(loraR, loraAlpha, loraDropout, t, dora))
                .format(Format.parse(format)).maxLength(maxLength).pack(pack).train(tc).testFraction(testFraction)
                .validationSize(ffValSize).limit(limit).epochs(epochs).precision(Precision.parse(precision)).build();
    }

    private ModelConfig modelConfig() {
        Path cfg = Pretrained.resolve(model.model).resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new dev.ffwd.FfwdException(cfg + ": config.json not found");
        return ModelConfig.load(cfg);
    }
}
