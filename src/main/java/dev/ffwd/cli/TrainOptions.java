package dev.ffwd.cli;

import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.model.ModelConfig;
import dev.ffwd.model.Pretrained;
import dev.ffwd.optim.Schedule;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.TrainConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Options shared by train, compare and demo. Any of them may also come from --config FILE (YAML or JSON). */
final class TrainOptions {
    @Mixin ModelOption model;
    @Option(names = "--data", paramLabel = "FILE.jsonl", description = "Training data (JSONL).") Path data;
    @Option(names = "--format", defaultValue = "text", description = "text | instruction | chat | classification") String format;
    @Option(names = "--lora-r", defaultValue = "64") int loraR;
    @Option(names = "--lora-alpha", defaultValue = "16") double loraAlpha;
    @Option(names = "--lora-dropout", defaultValue = "0.1") double loraDropout;
    @Option(names = "--targets", split = ",", description = "Module names to adapt (default: the paper's for the architecture).") List<String> targets;
    @Option(names = "--dora", description = "Weight-decomposed LoRA.") boolean dora;
    @Option(names = "--lr", defaultValue = "2e-5") double lr;
    @Option(names = "--schedule", defaultValue = "constant", description = "constant | linear | cosine") String schedule;
    @Option(names = "--warmup", defaultValue = "0") long warmup;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw | sgd") String optimizer;
    @Option(names = "--weight-decay", defaultValue = "0") double weightDecay;
    @Option(names = "--clip", defaultValue = "1.0", description = "Global gradient-norm clip (0 = off).") double clip;
    @Option(names = "--batch-size", defaultValue = "8") int batchSize;
    @Option(names = "--grad-accum", defaultValue = "1") int gradAccum;
    @Option(names = "--max-length", defaultValue = "128") int maxLength;
    @Option(names = "--pack", description = "Pack text examples into full rows.") boolean pack;
    @Option(names = "--max-steps", defaultValue = "200") long maxSteps;
    @Option(names = "--epochs", description = "Train for this many epochs (overrides --max-steps).") Double epochs;
    @Option(names = "--eval-every", defaultValue = "10") int evalEvery;
    @Option(names = "--eval-batch-size", defaultValue = "32") int evalBatchSize;
    @Option(names = "--checkpoint-every", defaultValue = "50") int checkpointEvery;
    @Option(names = "--test-fraction", defaultValue = "0.1") double testFraction;
    @Option(names = "--limit", defaultValue = "0", description = "Use at most this many records (0 = all).") int limit;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON file with any of these options (long names).") Path config;

    // Fast Forward
    @Option(names = "--ff-interval", defaultValue = "6", description = "Optimizer steps between FF stages.") int ffInterval;
    @Option(names = "--ff-val-size", defaultValue = "32", description = "Tiny validation set size (held out of test).") int ffValSize;
    @Option(names = "--ff-max-repeats", defaultValue = "1000") int ffMaxRepeats;
    @Option(names = "--ff-mode", defaultValue = "paper", description = "paper | revert | search") String ffMode;
    @Option(names = "--ff-adaptive", description = "Adapt the FF interval to how well stages pay off.") boolean ffAdaptive;

    FfConfig ff(boolean enabled) {
        return new FfConfig(enabled, ffInterval, ffValSize, ffMaxRepeats, FfConfig.Mode.valueOf(ffMode.toUpperCase()), ffAdaptive);
    }

    FineTune.Options options() {
        if (data == null) throw new IllegalArgumentException("--data FILE.jsonl is required");
        List<String> t = targets;
        if (t == null || t.isEmpty()) t = FineTune.defaultTargets(modelConfig().arch());
        TrainConfig tc = new TrainConfig(lr, Schedule.Kind.valueOf(schedule.toUpperCase()), warmup, optimizer, weightDecay, clip,
                0.9, batchSize, gradAccum, maxSteps, evalEvery, evalBatchSize, checkpointEvery, seed);
        return new FineTune.Options(model.model, data, Format.parse(format), maxLength, pack,
                new LoraConfig(loraR, loraAlpha, loraDropout, t, dora), tc, testFraction, ffValSize, limit, epochs);
    }

    private ModelConfig modelConfig() {
        Path cfg = Pretrained.resolve(model.model).resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new dev.ffwd.FfwdException(cfg + ": config.json not found");
        return ModelConfig.load(cfg);
    }
}
