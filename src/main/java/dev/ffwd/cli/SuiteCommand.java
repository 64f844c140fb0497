package dev.ffwd.cli;

import dev.ffwd.data.Format;
import dev.ffwd.report.Experiment;
import dev.ffwd.report.SuiteReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The evidence: {@code compare} (a learning-rate grid, Fast Forward at the same and at the tuned learning rate) on
 * several real classification tasks with the built-in MiniLM, each over several seeds (split, initialisation, data
 * order and dropout all follow the seed). Writes one comparison per task and seed, then medians and min–max to
 * OUT/report.json and OUT/report.md. A killed suite continues with --resume.
 */
@Command(name = "suite", mixinStandardHelpOptions = true,
        description = "Fast Forward vs. tuned plain LoRA on several real tasks × seeds; medians and min-max in OUT/report.json and report.md.")
final class SuiteCommand implements Runnable {

    /** A task: a data file made by scripts/fetch-data.sh and its --format (text on the encoder: masked language modelling). */
    record Task(String file, Format format) {}

    /** Task name → task: four classification tasks and two token-level ones. */
    static final Map<String, Task> TASKS = new LinkedHashMap<>();
    static {
        TASKS.put("spam-assassin", new Task("spam-assassin.jsonl", Format.CLASSIFICATION));
        TASKS.put("sotu-party", new Task("sotu-party.jsonl", Format.CLASSIFICATION));
        TASKS.put("sotu-decade", new Task("sotu-decade.jsonl", Format.CLASSIFICATION));
        TASKS.put("fortunes", new Task("fortunes.jsonl", Format.CLASSIFICATION));
        TASKS.put("moby-dick-mlm", new Task("moby-dick.jsonl", Format.TEXT));
        TASKS.put("sotu-mlm", new Task("sotu.jsonl", Format.TEXT));
    }

    @Option(names = "--quick", description = "The short protocol (docs/results.md says how long it took).") boolean quick;
    @Option(names = "--seeds", defaultValue = "3", description = "Seeds per task (default: ${DEFAULT-VALUE}).") int seeds;
    @Option(names = "--tasks", split = ",", description = "Tasks to run (default: all of ${COMPLETION-CANDIDATES}).",
            completionCandidates = TaskNames.class) List<String> tasks;
    @Option(names = "--out", defaultValue = "runs/suite", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--resume", description = "Continue a killed suite: finished comparisons and arms are not re-run.") boolean resume;
    @Option(names = "--overwrite", description = "Replace a non-empty OUT.") boolean overwrite;
    @Option(names = "--report-only", description = "Run nothing: aggregate the comparisons already finished in OUT "
            + "(each task with the seeds it has; a stopped suite's partial evidence).") boolean reportOnly;
    @picocli.CommandLine.Unmatched List<String> compareOptions = new ArrayList<>();

    static final class TaskNames extends ArrayList<String> {
        TaskNames() {
            super(TASKS.keySet());
        }
    }

    @Override
    public void run() {
        if (seeds < 1) throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        List<String> names = tasks == null ? List.copyOf(TASKS.keySet()) : tasks;
        for (String t : names)
            if (!TASKS.containsKey(t)) throw new IllegalArgumentException("unknown task '" + t + "'; known: " + String.join(", ", TASKS.keySet()));
        // The user's compare options, read once over the preset; each comparison is then that experiment on its task and seed.
        CompareCommand compare = reportOnly ? null
                : DemoCommand.compare(Presets.get(quick ? "suite-quick" : "suite"), DemoCommand.dataPath(TASKS.get(names.get(0)).file()), compareOptions);
        if (compare != null) compare.resume = resume;  // the suite's --resume is each comparison's: finished arms are loaded
        if (compare != null)
            for (String fixed : List.of("seed", "data", "format"))
                if (compare.spec.commandLine().getParseResult().hasMatchedOption("--" + fixed))
                    throw new IllegalArgumentException("suite sets --" + fixed + " for each comparison; choose tasks and seeds with --tasks and --seeds");
        Map<String, Path> data = new LinkedHashMap<>();  // every task's file checked before the first comparison runs
        if (!reportOnly) for (String task : names) data.put(task, DemoCommand.dataFile(TASKS.get(task).file(), List.of()));
        if (!reportOnly) OutputDir.prepare(out, overwrite, resume);  // only once everything above is accepted
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        for (String task : names) {
            for (int s = 0; s < seeds; s++) {
                long seed = dev.ffwd.train.TrainConfig.SEED + s;
                Path dir = out.resolve(task).resolve("seed-" + seed), report = dir.resolve("report.json");
                if (reportOnly) {  // each task with the seeds it has
                    if (Files.isRegularFile(report)) reports.computeIfAbsent(task, k -> new ArrayList<>()).add(report);
                    continue;
                }
                reports.computeIfAbsent(task, k -> new ArrayList<>()).add(report);
                Supplier<Experiment> experiment = () -> compare.experiment().on(data.get(task), TASKS.get(task).format(), seed, dir);
                if (resume && experiment.get().finishedIn()) continue;  // a plan this one extends runs again, for the new arms only
                System.err.printf("suite: %s, seed %d%n", task, seed);
                CompareCommand.run(experiment, dir, true, resume, compare.opts);
            }
        }
        if (reports.isEmpty()) throw new dev.ffwd.FfwdException(out + ": no finished comparison to report");
        String command = "./ffwd suite" + (quick ? " --quick" : "") + " --seeds " + seeds + (reportOnly ? " --report-only" : "")
                + (tasks == null ? "" : " --tasks " + String.join(",", tasks)) + (compareOptions.isEmpty() ? "" : " " + String.join(" ", compareOptions));
        SuiteReport.write(out, reports, command);
        System.out.print(SuiteReport.markdown(SuiteReport.json(reports, command)));
    }
}
