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
 * OUT/report.json and OUT/report.md. Comparisons run side by side in child JVMs, one per core by default
 * ({@code --jobs}). A killed suite continues with --resume.
 */
@Command(name = "suite", mixinStandardHelpOptions = true,
        description = "Fast Forward vs. tuned plain LoRA on several real tasks × seeds; medians and min-max in OUT/report.json and report.md.")
final class SuiteCommand implements Runnable {

    /** A task: a data file made by scripts/fetch-data.sh and its --format (text on the encoder: masked language modelling). */
    record Task(String file, Format format) {}

    /** One comparison: a task on one seed, written TASK:SEED. */
    record Case(String task, long seed) {
        @Override
        public String toString() {
            return task + ":" + seed;
        }
    }

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

    /** Seeds per task unless --seeds says otherwise: one for a quick look, three for the evidence. */
    static final int QUICK_SEEDS = 1, SEEDS = 3;

    @Option(names = "--quick", description = "The short protocol, one seed per task unless --seeds (docs/results.md says how long it took).") boolean quick;
    @Option(names = "--seeds", description = "Seeds per task (default: " + SEEDS + "; " + QUICK_SEEDS + " with --quick).") Integer seedsOption;
    @Option(names = "--jobs", description = "Comparisons run side by side, each in its own JVM with cores ÷ jobs compute threads "
            + "(default: the number of cores, at most the number of comparisons to run). Each worker's output goes to OUT/logs.") Integer jobs;
    @Option(names = "--case", hidden = true, description = "TASK:SEED: run this comparison only, and no report (what a worker runs).") String only;
    @Option(names = "--tasks", split = ",", description = "Tasks to run (default: all of ${COMPLETION-CANDIDATES}).",
            completionCandidates = TaskNames.class) List<String> tasks;
    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/suite; runs/suite-quick with --quick, where `ffwd results` looks).") Path out;
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
        int seeds = seedsOption != null ? seedsOption : quick ? QUICK_SEEDS : SEEDS;
        if (out == null) out = Path.of(quick ? "runs/suite-quick" : "runs/suite");
        if (seeds < 1) throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        if (jobs != null && jobs < 1) throw new IllegalArgumentException("--jobs must be >= 1, got " + jobs);
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
        if (!reportOnly && only == null) OutputDir.prepare(out, overwrite, resume);  // only once everything above is accepted
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        List<Case> all = new ArrayList<>(), todo = new ArrayList<>();  // the suite's comparisons, and those to run
        for (String task : names) {
            for (int s = 0; s < seeds; s++) {
                long seed = dev.ffwd.train.TrainConfig.SEED + s;
                Case c = new Case(task, seed);
                Path report = caseDir(c).resolve("report.json");
                if (reportOnly) {  // each task with the seeds it has
                    if (Files.isRegularFile(report)) reports.computeIfAbsent(task, k -> new ArrayList<>()).add(report);
                    continue;
                }
                reports.computeIfAbsent(task, k -> new ArrayList<>()).add(report);
                all.add(c);
                if (only != null && !only.equals(c.toString())) continue;
                if (resume && experiment(compare, data, c).get().finishedIn()) continue;  // a plan this one extends runs again, for the new arms only
                todo.add(c);
            }
        }
        if (only != null && all.stream().noneMatch(c -> c.toString().equals(only))) throw new IllegalArgumentException("--case " + only + ": not one of this suite's comparisons");
        // The token-level tasks take longest: started first, they do not leave one worker running alone at the end.
        todo.sort(java.util.Comparator.comparing(c -> TASKS.get(c.task()).format() != Format.TEXT));
        int cores = Runtime.getRuntime().availableProcessors(), side = Math.min(jobs == null ? cores : jobs, todo.size());
        if (side > 1) inWorkers(todo, side, Math.max(1, cores / side), seeds);
        else for (Case c : todo) {
            System.err.printf("suite: %s, seed %d%n", c.task(), c.seed());
            CompareCommand.run(experiment(compare, data, c), caseDir(c), true, resume, compare.opts);
        }
        if (only != null) return;  // the suite that started this worker writes the report
        if (reports.isEmpty()) throw new dev.ffwd.FfwdException(out + ": no finished comparison to report");
        String command = "./ffwd suite" + (quick ? " --quick" : "") + " --seeds " + seeds + (reportOnly ? " --report-only" : "")
                + (tasks == null ? "" : " --tasks " + String.join(",", tasks)) + (compareOptions.isEmpty() ? "" : " " + String.join(" ", compareOptions));
        SuiteReport.write(out, reports, command);
        System.out.print(SuiteReport.markdown(SuiteReport.json(reports, command)));
    }

    private Path caseDir(Case c) {
        return out.resolve(c.task()).resolve("seed-" + c.seed());
    }

    private Supplier<Experiment> experiment(CompareCommand compare, Map<String, Path> data, Case c) {
        return () -> compare.experiment().on(data.get(c.task()), TASKS.get(c.task()).format(), c.seed(), caseDir(c));
    }

    /**
     * Runs the comparisons {@code todo} (TASK:SEED) in {@code jobs} child JVMs at a time, each this command with
     * {@code --case} and {@code threads} compute threads; the engine's random generator is per process, so each
     * comparison is what it would be alone with that many threads. A killed suite kills its workers; --resume goes on.
     */
    private void inWorkers(List<Case> todo, int jobs, int threads, int seeds) {
        Path logs = out.resolve("logs");
        List<String> base = new ArrayList<>();
        if (Main.debug) base.add("--debug");
        if (Main.config != null) base.addAll(List.of("--config", Main.config.toString()));
        base.addAll(List.of("--threads", Integer.toString(threads), "suite", "--seeds", Integer.toString(seeds), "--out", out.toString(), "--resume"));
        if (quick) base.add("--quick");
        if (tasks != null) base.addAll(List.of("--tasks", String.join(",", tasks)));
        base.addAll(compareOptions);
        java.util.Deque<Case> queue = new java.util.ArrayDeque<>(todo);
        record Started(Case c, long nanos) {}
        Map<Process, Started> running = new java.util.concurrent.ConcurrentHashMap<>();  // the shutdown hook reads it too
        Thread killer = new Thread(() -> running.keySet().forEach(Process::destroy));  // Ctrl-C or kill: no orphaned workers
        Runtime.getRuntime().addShutdownHook(killer);
        Case failed = null;
        int done = 0;
        System.err.printf("suite: %d comparisons, %d at a time, %d compute thread%s each; workers' output in %s%n",
                todo.size(), jobs, threads, threads == 1 ? "" : "s", logs);
        try {
            Files.createDirectories(logs);
            while (!queue.isEmpty() || !running.isEmpty()) {
                while (failed == null && running.size() < jobs && !queue.isEmpty()) {
                    Case c = queue.poll();
                    List<String> args = new ArrayList<>(base);
                    args.addAll(List.of("--case", c.toString()));
                    Process p = dev.ffwd.ChildJvm.start(Main.class.getName(), args, log(logs, c));
                    running.put(p, new Started(c, System.nanoTime()));
                    System.err.printf("suite: %s started%n", c);
                }
                if (running.isEmpty()) break;  // a worker failed: none is started after it
                Process finished = java.util.concurrent.CompletableFuture.anyOf(running.keySet().stream()
                        .map(Process::onExit).toArray(java.util.concurrent.CompletableFuture[]::new)).thenApply(Process.class::cast).get();
                Started s = running.remove(finished);
                Case c = s.c();
                double minutes = (System.nanoTime() - s.nanos()) / 6e10;
                if (finished.exitValue() != 0) {
                    failed = c;
                    System.err.printf("suite: %s failed (exit %d); see %s%n", c, finished.exitValue(), log(logs, c));
                } else {
                    System.err.printf(java.util.Locale.ROOT, "suite: %s done in %.1f min (%d of %d)%n", c, minutes, ++done, todo.size());
                }
            }
        } catch (java.io.IOException e) {
            throw new dev.ffwd.FfwdException(logs + ": cannot start a worker: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.ffwd.FfwdException("suite: interrupted while waiting for its workers");
        } catch (java.util.concurrent.ExecutionException e) {  // onExit does not complete exceptionally; kept for the compiler
            throw new dev.ffwd.FfwdException("suite: waiting for a worker failed: " + e.getCause());
        } finally {
            running.keySet().forEach(Process::destroy);
            Runtime.getRuntime().removeShutdownHook(killer);
        }
        if (failed != null) throw new dev.ffwd.FfwdException("suite: the comparison " + failed + " failed; its log is "
                + log(logs, failed) + " (--resume goes on from the arms already finished)");
    }

    private static Path log(Path logs, Case c) {
        return logs.resolve(c.task() + "-seed-" + c.seed() + ".log");
    }
}
