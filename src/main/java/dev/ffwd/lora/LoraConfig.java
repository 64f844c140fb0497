package dev.ffwd.lora;

import java.util.List;
import java.util.regex.Pattern;

/**
 * LoRA settings as in PEFT. A target matches a module when it equals the module path or its last
 * components (PEFT's list semantics: "query_key_value" matches "gpt_neox.layers.0.attention.query_key_value");
 * a target written "re:..." is a regular expression that must match the whole path.
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets, boolean dora) implements java.io.Serializable {

    /** The prefix that marks a target as a regular expression. */
    public static final String REGEX = "re:";

    /** The paper's setting (the CLI's defaults). */
    public static final int RANK = 64;
    public static final double ALPHA = 16, DROPOUT = 0.1;

    public static LoraConfig paper(List<String> targets) {
        return new LoraConfig(RANK, ALPHA, DROPOUT, targets, false);
    }

    public LoraConfig {
        if (rank <= 0) throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        if (!(alpha > 0) || !Double.isFinite(alpha)) throw new IllegalArgumentException("LoRA alpha must be positive, got " + alpha);
        if (targets == null || targets.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
        targets = List.copyOf(targets);
    }

    public double scale() {
        return alpha / rank;
    }

    public boolean matches(String module) {
        for (String t : targets) {
            if (t.startsWith(REGEX) ? Pattern.matches(t.substring(REGEX.length()), module) : module.equals(t) || module.endsWith("." + t))
                return true;
        }
        return false;
    }
}
