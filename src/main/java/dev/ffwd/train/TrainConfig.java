package dev.ffwd.train;

import dev.ffwd.optim.Schedule;

/**
 * Optimisation settings. Defaults follow the paper where it speaks: AdamW, lr 2e-5, constant schedule.
 * The effective batch is {@code batchSize × gradAccum} sequences (the paper used 512).
 */
public record TrainConfig(
        double lr, Schedule.Kind schedule, long warmup, String optimizer, double weightDecay, double clipNorm,
        double momentum, int batchSize, int gradAccum, long maxSteps, int evalEvery, int evalBatchSize,
        int checkpointEvery, long seed) {

    public static TrainConfig defaults() {
        return new TrainConfig(2e-5, Schedule.Kind.CONSTANT, 0, "adamw", 0.0, 1.0, 0.9, 8, 1, 100, 10, 32, 50, 42);
    }

    public TrainConfig {
        if (lr <= 0 || !Double.isFinite(lr)) throw new IllegalArgumentException("learning rate must be positive, got " + lr);
        if (batchSize < 1 || gradAccum < 1) throw new IllegalArgumentException("batch size and grad accumulation must be >= 1");
        if (maxSteps < 1) throw new IllegalArgumentException("max steps must be >= 1, got " + maxSteps);
        if (evalEvery < 1 || evalBatchSize < 1) throw new IllegalArgumentException("eval interval and eval batch size must be >= 1");
        if (!optimizer.equals("adamw") && !optimizer.equals("sgd"))
            throw new IllegalArgumentException("optimizer must be adamw or sgd, got " + optimizer);
    }

    public TrainConfig withMaxSteps(long steps) {
        return new TrainConfig(lr, schedule, warmup, optimizer, weightDecay, clipNorm, momentum, batchSize, gradAccum, steps,
                evalEvery, evalBatchSize, checkpointEvery, seed);
    }

    public Schedule scheduleFor() {
        return new Schedule(schedule, lr, warmup, maxSteps);
    }
}
