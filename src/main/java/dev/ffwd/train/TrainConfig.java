package dev.ffwd.train;

import dev.ffwd.optim.Schedule;

/**
 * Optimisation settings, with every default named once here (the CLI shows these). The effective batch is
 * {@code batchSize × gradAccum} sequences (the paper used 512). AdamW's ε and the gradient clip differ between
 * PyTorch's AdamW with clipping (ffwd's default) and the authors' {@code transformers.AdamW} (ε 1e-6, no clipping):
 * see {@link #paperOptimizer()}.
 */
public record TrainConfig(
        double lr, Schedule.Kind schedule, long warmup, OptimizerKind optimizer, double weightDecay, double clipNorm,
        double adamEps, double momentum, int batchSize, int gradAccum, long maxSteps, int evalEvery, int evalBatchSize,
        int checkpointEvery, long seed, Memory memory) implements java.io.Serializable {

    public enum OptimizerKind { ADAMW, SGD }

    /**
     * Memory-for-time trade-offs that leave the result unchanged up to fp32 rounding. {@code lossChunk}: positions
     * whose [positions, vocab] logits are formed at once in the language-model loss. {@code checkpointActivations}:
     * keep only each block's input in the forward pass and recompute the block in backward (about one more forward
     * pass of the blocks; see dev.ffwd.model.ActivationCheckpoint).
     */
    public record Memory(int lossChunk, boolean checkpointActivations) implements java.io.Serializable {
        /** 256 positions × a 50k vocabulary is 51 MB of logits per chunk, instead of 206 MB for 8 × 128 positions at once. */
        public static final int LOSS_CHUNK = 256;
        /** Off: the recompute costs time, and small models fit without it. */
        public static final boolean CHECKPOINT_ACTIVATIONS = false;

        public Memory {
            if (lossChunk < 1) throw new IllegalArgumentException("loss chunk must be ≥ 1 position, got " + lossChunk);
        }

        public static Memory defaults() {
            return new Memory(LOSS_CHUNK, CHECKPOINT_ACTIVATIONS);
        }
    }

    public static final double LR = 2e-5;                 // the paper's
    public static final double CLIP_NORM = 1.0;
    public static final double ADAM_EPS = 1e-8;           // torch.optim.AdamW
    public static final double PAPER_ADAM_EPS = 1e-6;     // transformers.AdamW, as the authors' main.py uses it
    public static final double ADAM_BETA1 = 0.9, ADAM_BETA2 = 0.999;
    public static final double SGD_MOMENTUM = 0.9;
    public static final int BATCH_SIZE = 8;
    public static final long MAX_STEPS = 200;
    public static final int EVAL_EVERY = 10;
    public static final int EVAL_BATCH_SIZE = 32;
    public static final int CHECKPOINT_EVERY = 50;
    public static final long SEED = 42;

    public static TrainConfig defaults() {
        return new TrainConfig(LR, Schedule.Kind.CONSTANT, 0, OptimizerKind.ADAMW, 0.0, CLIP_NORM, ADAM_EPS, SGD_MOMENTUM,
                BATCH_SIZE, 1, MAX_STEPS, EVAL_EVERY, EVAL_BATCH_SIZE, CHECKPOINT_EVERY, SEED, Memory.defaults());
    }

    public TrainConfig {
        if (lr <= 0 || !Double.isFinite(lr)) throw new IllegalArgumentException("learning rate must be positive, got " + lr);
        if (batchSize < 1 || gradAccum < 1) throw new IllegalArgumentException("batch size and grad accumulation must be >= 1");
        if (maxSteps < 1) throw new IllegalArgumentException("max steps must be >= 1, got " + maxSteps);
        if (evalEvery < 1 || evalBatchSize < 1) throw new IllegalArgumentException("eval interval and eval batch size must be >= 1");
        if (checkpointEvery < 1) throw new IllegalArgumentException("checkpoint interval must be >= 1, got " + checkpointEvery);
        if (!(adamEps > 0)) throw new IllegalArgumentException("AdamW epsilon must be positive, got " + adamEps);
        if (schedule == null || optimizer == null || memory == null) throw new IllegalArgumentException("schedule, optimizer and memory settings must be set");
    }

    /** The authors' optimizer: transformers.AdamW (ε 1e-6), no gradient clipping. */
    public TrainConfig paperOptimizer() {
        return new TrainConfig(lr, schedule, warmup, OptimizerKind.ADAMW, 0.0, 0.0, PAPER_ADAM_EPS, momentum, batchSize, gradAccum,
                maxSteps, evalEvery, evalBatchSize, checkpointEvery, seed, memory);
    }

    public TrainConfig withLr(double v) {
        return new TrainConfig(v, schedule, warmup, optimizer, weightDecay, clipNorm, adamEps, momentum, batchSize, gradAccum,
                maxSteps, evalEvery, evalBatchSize, checkpointEvery, seed, memory);
    }

    public TrainConfig withMaxSteps(long v) {
        return new TrainConfig(lr, schedule, warmup, optimizer, weightDecay, clipNorm, adamEps, momentum, batchSize, gradAccum,
                v, evalEvery, evalBatchSize, checkpointEvery, seed, memory);
    }

    public TrainConfig withSeed(long v) {
        return new TrainConfig(lr, schedule, warmup, optimizer, weightDecay, clipNorm, adamEps, momentum, batchSize, gradAccum,
                maxSteps, evalEvery, evalBatchSize, checkpointEvery, v, memory);
    }

    public Schedule scheduleFor() {
        return new Schedule(schedule, lr, warmup, maxSteps);
    }
}
