package dev.ffwd.model;

import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/**
 * What the frozen linear products of the transformer blocks compute in. {@link #BF16}: through {@link Bf16}, with the
 * weights held as bf16 handles; LoRA and its gradients, the optimizer state, norms, softmax, the LM head and the loss
 * stay fp32. {@link #AUTO}: bf16 where the CPU reports bf16 matrix instructions ({@link Bf16#available}), else fp32.
 */
public enum Precision {
    FP32, BF16, AUTO;

    /**
     * fp32 until a full training step has been measured faster in bf16 on an idle machine (docs/performance.md,
     * "BF16 compute"): changing the default is a decision for after that measurement.
     */
    public static final Precision DEFAULT = FP32;

    /** {@code text}: fp32, bf16 or auto, in any case. */
    public static Precision parse(String text) {
        for (Precision p : values()) if (p.label().equals(text.trim().toLowerCase(Locale.ROOT))) return p;
        throw new IllegalArgumentException("precision must be fp32, bf16 or auto, got '" + text + "'");
    }

    /** The name as written on the command line and in reports. */
    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** FP32 or BF16: what this choice computes in on a CPU with ({@code cpuHasBf16}) or without bf16 instructions. */
    public Precision on(boolean cpuHasBf16) {
        return this == FP32 || !cpuHasBf16 ? FP32 : BF16;
    }

    /**
     * The log line for this choice computing in {@code used} ({@link #on}): for BF16 asked on a CPU without the
     * instructions, it says so (fp32 is used, as bf16 emulated in software is slower than fp32).
     */
    public String describe(Precision used) {
        String what = used == BF16 ? "bf16 (frozen matrix products; LoRA, optimizer state and loss in fp32)" : "fp32";
        if (used == BF16 || this == FP32) return "precision: " + what;
        return "precision: " + what + " (" + (this == BF16 ? "--precision bf16 asked, but " : "auto: ")
                + "this CPU reports none of " + String.join(", ", Bf16.FLAGS) + ")";
    }
}
