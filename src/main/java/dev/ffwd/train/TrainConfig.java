package dev.ffwd.train;

import dev.ffwd.optim.AdamW;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.OptimizerSpec;
import dev.ffwd.optim.Schedule;

/**
 * Optimisation settings, with every default named once here (the CLI shows these). The effective batch is
 * {@code batchSize × gradAccum} sequences (the paper used 512). The optimizer's own settings (betas, ε, Prodigy's d0)
 * are its {@link OptimizerSpec}; weight decay, the gradient clip and the LoRA+ ratio apply to every optimizer. AdamW's
 * ε and the gradient clip differ between PyTorch's AdamW with clipping (ffwd's default) and the authors'
 * {@code transformers.AdamW} (ε 1e-6, no clipping): see {@link Builder#paperOptimizer()}.
 */
public record TrainConfig(
        double lr, Schedule.Kind schedule, long warmup, OptimizerSpec optimizer, double weightDecay, double clipNorm,
        double loraPlusRatio, int batchSize, int gradAccum, long maxSteps, int evalEvery, int evalBatchSize,
        int checkpointEvery, long seed, Memory memory) implements java.io.Serializable {

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

    public static final double LR = AdamW.Spec.LR;        // the paper's
    public static final double CLIP_NORM = 1.0;
    public static final double LORA_PLUS_RATIO = 1.0;     // plain LoRA: A and B at the same lr
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
        b.loraPlusRatio = loraPlusRatio;
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
        if (warmup < 0) throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmup);
        if (evalEvery < 1 || evalBatchSize < 1) throw new IllegalArgumentException("eval interval and eval batch size must be >= 1");
        if (checkpointEvery < 1) throw new IllegalArgumentException("checkpoint interval must be >= 1, got " + checkpointEvery);
        if (!(loraPlusRatio > 0) || !Double.isFinite(loraPlusRatio)) throw new IllegalArgumentException("LoRA+ ratio must be positive, got " + loraPlusRatio);
        if (optimizer != null && loraPlusRatio != 1 && !optimizer.supportsLoraPlus())
            throw new IllegalArgumentException("LoRA+ (a lora_B lr ratio) combines with adamw or sgd, not with " + optimizer.name());
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        if (!(clipNorm >= 0)) throw new IllegalArgumentException("gradient clip must be >= 0 (0 = none), got " + clipNorm);
        if (schedule == null || optimizer == null || memory == null) throw new IllegalArgumentException("schedule, optimizer and memory settings must be set");
    }

    /** Named settings over the defaults above; {@link #build()} validates them. */
    public static final class Builder {
        private double lr = LR;
        private Schedule.Kind schedule = Schedule.Kind.CONSTANT;
        private long warmup = WARMUP;
        private OptimizerSpec optimizer = AdamW.Spec.defaults();
        private double weightDecay = WEIGHT_DECAY;
        private double clipNorm = CLIP_NORM;
        private double loraPlusRatio = LORA_PLUS_RATIO;
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
        public Builder optimizer(OptimizerSpec v) { optimizer = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder clipNorm(double v) { clipNorm = v; return this; }
        public Builder loraPlusRatio(double v) { loraPlusRatio = v; return this; }
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
            return optimizer(AdamW.Spec.paper()).weightDecay(WEIGHT_DECAY).clipNorm(0.0);
        }

        public TrainConfig build() {
            return new TrainConfig(lr, schedule, warmup, optimizer, weightDecay, clipNorm, loraPlusRatio, batchSize, gradAccum,
                    maxSteps, evalEvery, evalBatchSize, checkpointEvery, seed, memory);
        }
    }

    /** A fresh optimizer of these settings. */
    public Optimizer newOptimizer() {
        return optimizer.build(weightDecay, clipNorm, loraPlusRatio, maxSteps);
    }

    public Schedule scheduleFor() {
        return new Schedule(schedule, lr, warmup, maxSteps);
    }
}
