package dev.ffwd.train;

import dev.ffwd.optim.Schedule;

/**
 * Optimisation settings, with every default named once here (the CLI shows these). The effective batch is
 * {@code batchSize × gradAccum} sequences (the paper used 512). AdamW's ε and the gradient clip differ between
 * PyTorch's AdamW with clipping (ffwd's default) and the authors' {@code transformers.AdamW} (ε 1e-6, no clipping):
 * see {@link Builder#paperOptimizer()}.
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
    public static final int GRAD_ACCUM = 1;
    public static final long WARMUP = 0;             // learning-rate warm-up steps
    public static final double WEIGHT_DECAY = 0.0;
    public static final long MAX_STEPS = 200;
    public static final int EVAL_EVERY = 10;
    public static final int EVAL_BATCH_SIZE = 32;
    public static final int CHECKPOINT_EVERY = 50;
    public static final long SEED = 42;

    public static TrainConfig defaults() {
        return builder().build();
    }

    /** Settings from the defaults above; set only what differs. */
    public static Builder builder() {
        return new Builder();
    }

    /** These settings, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.lr = lr;
        b.schedule = schedule;
        b.warmup = warmup;
        b.optimizer = optimizer;
        b.weightDecay = weightDecay;
        b.clipNorm = clipNorm;
        b.adamEps = adamEps;
        b.momentum = momentum;
        b.batchSize = batchSize;
        b.gradAccum = gradAccum;
        b.maxSteps = maxSteps;
        b.evalEvery = evalEvery;
        b.evalBatchSize = evalBatchSize;
        b.checkpointEvery = checkpointEvery;
        b.seed = seed;
        b.memory = memory;
        return b;
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

    /** Named settings over the defaults above; {@link #build()} validates them. */
    public static final class Builder {
        private double lr = LR;
        private Schedule.Kind schedule = Schedule.Kind.CONSTANT;
        private long warmup = WARMUP;
        private OptimizerKind optimizer = OptimizerKind.ADAMW;
        private double weightDecay = WEIGHT_DECAY;
        private double clipNorm = CLIP_NORM;
        private double adamEps = ADAM_EPS;
        private double momentum = SGD_MOMENTUM;
        private int batchSize = BATCH_SIZE;
        private int gradAccum = GRAD_ACCUM;
        private long maxSteps = MAX_STEPS;
        private int evalEvery = EVAL_EVERY;
        private int evalBatchSize = EVAL_BATCH_SIZE;
        private int checkpointEvery = CHECKPOINT_EVERY;
        private long seed = SEED;
        private Memory memory = Memory.defaults();

        private Builder() {}

        public Builder lr(double v) { lr = v; return this; }
        public Builder schedule(Schedule.Kind v) { schedule = v; return this; }
        public Builder warmup(long v) { warmup = v; return this; }
        public Builder optimizer(OptimizerKind v) { optimizer = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder clipNorm(double v) { clipNorm = v; return this; }
        public Builder adamEps(double v) { adamEps = v; return this; }
        public Builder momentum(double v) { momentum = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        public Builder maxSteps(long v) { maxSteps = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder evalBatchSize(int v) { evalBatchSize = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder memory(Memory v) { memory = v; return this; }

        /** The authors' optimizer: transformers.AdamW (ε 1e-6), no weight decay, no gradient clipping. */
        public Builder paperOptimizer() {
            return optimizer(OptimizerKind.ADAMW).weightDecay(WEIGHT_DECAY).clipNorm(0.0).adamEps(PAPER_ADAM_EPS);
        }

        public TrainConfig build() {
            return new TrainConfig(lr, schedule, warmup, optimizer, weightDecay, clipNorm, adamEps, momentum, batchSize, gradAccum,
                    maxSteps, evalEvery, evalBatchSize, checkpointEvery, seed, memory);
        }
    }

    public Schedule scheduleFor() {
        return new Schedule(schedule, lr, warmup, maxSteps);
    }
}
