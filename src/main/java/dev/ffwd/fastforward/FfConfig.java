package dev.ffwd.fastforward;

/**
 * Fast Forward settings. The paper's: every 6 optimizer steps, a 32-example validation set,
 * repeat Δ until the validation loss gets worse and leave that last step applied.
 */
public record FfConfig(boolean enabled, int interval, int validationSize, int maxRepeats, Mode mode, boolean adaptive) {

    public enum Mode {
        /** The authors' loop: accept the first repeat, stop at the first strictly worse loss, keep it applied. */
        PAPER,
        /** As PAPER, but undo the worsening repeat (θ restored bit for bit). */
        REVERT,
        /** Line search over τ in θ + τΔ: double τ until the loss rises, then golden-section search the bracket. */
        SEARCH
    }

    public static FfConfig paper() {
        return new FfConfig(true, 6, 32, 1000, Mode.PAPER, false);
    }

    public static FfConfig off() {
        return new FfConfig(false, 6, 32, 1000, Mode.PAPER, false);
    }

    public FfConfig {
        if (interval < 1) throw new IllegalArgumentException("FF interval must be >= 1, got " + interval);
        if (validationSize < 1) throw new IllegalArgumentException("FF validation size must be >= 1, got " + validationSize);
        if (maxRepeats < 1) throw new IllegalArgumentException("FF max repeats must be >= 1, got " + maxRepeats);
    }

    public FfConfig withMode(Mode m) {
        return new FfConfig(enabled, interval, validationSize, maxRepeats, m, adaptive);
    }
}
