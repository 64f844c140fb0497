package dev.ffwd.cli;

import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;

/**
 * Named protocols: option defaults that a command line still overrides. {@code paper} is the authors' setting
 * (github AdirRahamim/Fast-Forward, main.py): LoRA r=64, α=16, dropout 0.1 on the paper's targets; their
 * transformers.AdamW (lr 2e-5, ε 1e-6, no gradient clipping, constant lr); 512 sequences per optimizer step through
 * accumulation; a stage every 6 optimizer steps with Δ of the last step, the first repeat always taken, LoRA tensors
 * only, a 32-example validation set. Their 50-micro-batch burn-in delays the first stage until 6 optimizer steps
 * are done, which an interval of 6 with no warm-up gives here.
 */
final class Presets {
    private Presets() {}

    static final Map<String, Map<String, String>> ALL = Map.of(
            "paper", new TreeMap<>(Map.ofEntries(
                    Map.entry("lora-r", "64"), Map.entry("lora-alpha", "16"), Map.entry("lora-dropout", "0.1"),
                    Map.entry("lr", "2e-5"), Map.entry("schedule", "constant"), Map.entry("warmup", "0"),
                    Map.entry("optimizer", "adamw"), Map.entry("adam-eps", "1e-6"), Map.entry("clip", "0"),
                    Map.entry("weight-decay", "0"), Map.entry("batch-size", "8"), Map.entry("grad-accum", "64"),
                    Map.entry("ff-mode", "paper"), Map.entry("modes", "paper"), Map.entry("ff-interval", "6"),
                    Map.entry("ff-warmup", "0"), Map.entry("ff-params", "lora"), Map.entry("ff-val-size", "32"))));

    static Map<String, String> get(String name) {
        Map<String, String> p = ALL.get(name);
        if (p == null) throw new dev.ffwd.FfwdException("unknown --preset '" + name + "'; known: " + String.join(", ", new Names()));
        return p;
    }

    /** For picocli's ${COMPLETION-CANDIDATES}. */
    static final class Names extends ArrayList<String> {
        Names() {
            super(new TreeMap<>(ALL).keySet());
        }
    }
}
