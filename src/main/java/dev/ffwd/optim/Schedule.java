package dev.ffwd.optim;

/** Learning rate per optimizer step: constant (the paper's choice), or linear / cosine decay to 0, after a linear warmup. */
public record Schedule(Kind kind, double peak, long warmup, long total) {

    public enum Kind { CONSTANT, LINEAR, COSINE }

    /** lr for the step about to be taken (0-based). */
    public double lr(long step) {
        if (step < warmup) return peak * (step + 1) / warmup;
        if (kind == Kind.CONSTANT || total <= warmup) return peak;
        double progress = Math.min(1.0, (double) (step - warmup) / (total - warmup));
        return kind == Kind.LINEAR ? peak * (1 - progress) : peak * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
