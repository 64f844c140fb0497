package dev.ffwd.cli;

import dev.ffwd.train.Method;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Named protocols: option defaults (long names without "--") that a command line still overrides, for
 * {@code --preset NAME} and for the commands built on {@code compare}.
 * <ul>
 * <li>{@code paper}: the authors' setting (github AdirRahamim/Fast-Forward, main.py): LoRA r=64, α=16, dropout 0.1 on
 * the paper's targets; their transformers.AdamW (lr 2e-5, ε 1e-6, no gradient clipping, constant lr); 512 sequences
 * per optimizer step through accumulation; a stage every 6 optimizer steps with Δ of the last step, the first repeat
 * always taken, LoRA tensors only, a 32-example validation set. Their 50-micro-batch burn-in delays the first stage
 * until 6 optimizer steps are done, which an interval of 6 with no warm-up gives here.</li>
 * <li>{@code demo}: what {@code ffwd demo} runs: the built-in MiniLM with LoRA r=8 and a classification head, 2,000
 * records of 64 tokens (a test split of 268: 15% less the 32-example FF validation set), 16 sequences per step, the lr
 * grid 1e-4 … 1e-2 to a plateau (100 steps at most), the tuning-free default and the anchors, and Fast Forward at the
 * grid's lowest lr, with and without its probe budget (which, at 16 sequences per step, holds the first stage back
 * until step 25); and the tuned lr once more on a fresh training seed ({@code --reseeds 1}), which says whether a
 * method that misses L* misses what the tuned recipe itself would hit again. It evaluates every 10 steps and stops a
 * run after 3 evaluations without a better test loss. Sized for 25 minutes on 2 cores, data download and build
 * included: evaluating every 5 steps (patience 4), it took 31 minutes from a fresh clone (a one-minute Maven run
 * overlapping it), two thirds of its arms' time in test-loss evaluations; evaluating every 10, with the re-seeded
 * run, 17 min 42 s alone (fresh clones, 2026-12-04 and 05; {@code measurement} in docs/runs/demo-eval-every-5 and
 * docs/runs/demo).
 * Test-loss evaluations take the default batch of 32: {@code ffwd eval} of 3,000 fortunes at 32 tokens on one thread
 * took 176–185 s in batches of 128 and 129–144 s in batches of 32 (two runs each, interleaved, on a busy machine):
 * fewer padded positions and a smaller working set.</li>
 * <li>{@code suite}: the demo's settings with every measured method and FF at the tuned lr too.</li>
 * <li>{@code suite-quick}: 1,000 records of 32 tokens, a test split of 268 (30% less the 32-example FF validation
 * set), 16 sequences per step, evaluations every 5 steps (in the default batches of 32, as the demo's) with a patience
 * of 4, a 60-step budget; FF at the tuned lr
 * (does it cost anything there?), the tuning-free methods each from their own default, and the tuned lr once more on
 * a fresh training seed, as in the demo. {@code suite --quick} runs one seed per task unless told otherwise.</li>
 * </ul>
 */
final class Presets {
    private Presets() {}

    private static final Map<String, String> DEMO = of(
            "model", "builtin", "format", "classification", "max-length", "64", "limit", "2000",
            "test-fraction", "0.15", "lora-r", "8", "lora-alpha", "16", "lora-dropout", "0.1",
            "lr", "1e-4", "lr-grid", "1e-4,3e-4,1e-3,3e-3,1e-2", "ff-lrs", "lr", "batch-size", "16", "grad-accum", "1",
            "max-steps", "100", "eval-every", "10", "patience", "3", "ff-val-size", "32", "reseeds", "1",
            "modes", "ffwd,ffwd-budget", "methods", String.join(",", Method.compared()));

    static final Map<String, Map<String, String>> ALL = Map.of(
            "paper", of(
                    "lora-r", "64", "lora-alpha", "16", "lora-dropout", "0.1",
                    "lr", "2e-5", "schedule", "constant", "warmup", "0",
                    "optimizer", "adamw", "adam-eps", "1e-6", "clip", "0",
                    "weight-decay", "0", "batch-size", "8", "grad-accum", "64",
                    "ff-mode", "paper", "modes", "paper", "ff-interval", "6",
                    "ff-warmup", "0", "ff-params", "lora", "ff-val-size", "32"),
            "demo", DEMO,
            "suite", with(DEMO, "methods", String.join(",", Method.MEASURED), "ff-lrs", "lr,tuned", "modes", "ffwd"),
            "suite-quick", with(DEMO, "max-length", "32", "limit", "1000", "test-fraction", "0.3", "ff-lrs", "tuned",
                    "batch-size", "16", "grad-accum", "1", "max-steps", "60", "eval-every", "5", "patience", "4",
                    "reseeds", "1", "modes", "ffwd",
                    "methods", String.join(",", Method.MEASURED)));

    static Map<String, String> get(String name) {
        Map<String, String> p = ALL.get(name);
        if (p == null) throw new dev.ffwd.FfwdException("unknown --preset '" + name + "'; known: " + String.join(", ", new Names()));
        return p;
    }

    /** Option names and values, alternating, in order. */
    private static Map<String, String> of(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return Collections.unmodifiableMap(m);
    }

    /** {@code base} with some values replaced. */
    private static Map<String, String> with(Map<String, String> base, String... kv) {
        Map<String, String> m = new LinkedHashMap<>(base);
        m.putAll(of(kv));
        return Collections.unmodifiableMap(m);
    }

    /** For picocli's ${COMPLETION-CANDIDATES}. */
    static final class Names extends ArrayList<String> {
        Names() {
            super(new TreeMap<>(ALL).keySet());
        }
    }
}
