package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.History;
import dev.ffwd.train.Trainer;
import dev.ffwd.train.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

@Command(name = "train", description = "LoRA fine-tuning. Writes the adapter with the best test loss to OUT/adapter and the last one to "
        + "OUT/adapter-last (PEFT format), one JSON line per evaluation to OUT/metrics.jsonl, and checkpoints to OUT.")
final class TrainCommand implements Runnable {
    @Mixin TrainOptions opts;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (must be empty unless --overwrite or --resume).") Path out;
    @Option(names = "--resume", description = "Continue from OUT/checkpoint.safetensors; an error when there is none, or when it was "
            + "written for another model, data, split, adapter or optimizer setting.") boolean resume;
    @Option(names = "--resume-or-start", description = "Continue from OUT/checkpoint.safetensors if there is one, else start afresh "
            + "(for jobs that a scheduler may restart).") boolean resumeOrStart;
    @Option(names = "--overwrite", description = "Replace a non-empty OUT.") boolean overwrite;
    @Option(names = "--ff", description = "Enable Fast Forward stages (holds --ff-val-size validation examples out of the test split).") boolean ff;
    @Option(names = "--patience", defaultValue = "0", paramLabel = "N",
            description = "Stop after N evaluations without a better test loss; 0 trains for the whole budget (default: ${DEFAULT-VALUE}).") int patience;

    static final String METRICS = "metrics.jsonl", BEST = "adapter", LAST = "adapter-last", CHECKPOINT = "checkpoint.safetensors";

    @Override
    public void run() {
        if (patience < 0) throw new IllegalArgumentException("--patience must be >= 0, got " + patience);
        if (resume && resumeOrStart) throw new IllegalArgumentException("--resume and --resume-or-start: pass one");
        if (resume && !Files.isRegularFile(out.resolve(CHECKPOINT)))
            throw new FfwdException(out.resolve(CHECKPOINT) + ": no checkpoint to resume from; check --out, or pass --resume-or-start to start afresh");
        boolean existed = Files.exists(out);
        OutputDir.prepare(out, overwrite, resume || resumeOrStart);
        try {
            train();
        } catch (RuntimeException e) {
            if (!existed) OutputDir.removeIfEmpty(out);  // a run that failed before writing anything leaves no empty OUT
            throw e;
        }
    }

    private void train() {
        FineTune.Options o = opts.options();
        FfConfig ffc = opts.ff(ff);
        if (!ffc.enabled()) o = o.withValidationSize(0);  // plain training needs no Fast Forward validation set
        try (FineTune ft = FineTune.prepare(o); TrainOptions.Distributed cluster = opts.distribute(ft);
             Progress progress = new Progress(ft.options.train().maxSteps())) {
            TrainingRun run = ft.newRun(ffc, out.resolve(CHECKPOINT));
            System.err.printf("data: %d train, %d test, %d validation examples%s%n", ft.splits.train().size(), ft.splits.test().size(),
                    ft.splits.validation().size(), ft.truncated > 0 ? " (" + ft.truncated + " truncated to --max-length)" : "");
            System.err.printf(Locale.ROOT, "optimizer: %s at lr %s%s%n", o.train().optimizer().name(), opts.lrText(),
                    opts.defaultMethod() != null ? " (the tuning-free default; --lr or --optimizer chooses another)" : "");
            boolean resumed = (resume || resumeOrStart) && run.resume();
            if (resumed) System.err.printf("resumed at step %d%n", run.trainer().steps());
            Recorder recorder = new Recorder(ft, run, out, resumed ? run.trainer().steps() : -1);
            progress.onArmStart("train", ft.options.train().maxSteps());
            TrainingRun.Stop stop = run.run(patience > 0 ? TrainingRun.StopRule.plateau(patience) : TrainingRun.StopRule.budget(),
                    both(progress, recorder));
            progress.close();
            ft.saveAdapter(out.resolve(LAST));
            History h = run.history();
            History.Point best = h.best();
            System.out.printf(Locale.ROOT, "steps %d%s, test loss %.4f (best %.4f at step %d%s), %d FF stages, %.1f s train+FF%n",
                    run.trainer().steps(), stop == TrainingRun.Stop.PLATEAU ? " (stopped early: no better test loss in " + patience + " evaluations)" : "",
                    h.lastTestLoss(), best.testLoss(), best.step(),
                    best.accuracy() == null ? "" : String.format(Locale.ROOT, ", accuracy %.4f", best.accuracy()), h.stages.size(),
                    run.trainer().ledger().wallSeconds());
            System.out.printf("adapter (best test loss): %s, last: %s, metrics: %s%n", out.resolve(BEST), out.resolve(LAST), out.resolve(METRICS));
        }
    }

    private static TrainingRun.Listener both(TrainingRun.Listener a, TrainingRun.Listener b) {
        return new TrainingRun.Listener() {
            @Override public void onStep(Trainer t, double loss) { a.onStep(t, loss); b.onStep(t, loss); }
            @Override public void onEval(History.Point p) { a.onEval(p); b.onEval(p); }
            @Override public void onStage(FastForward.Stage s) { a.onStage(s); b.onStage(s); }
        };
    }

    /**
     * At each evaluation: a line in OUT/metrics.jsonl (with the test accuracy and macro-F1 of a classifier) (the whole file is
     * rewritten atomically), and OUT/adapter replaced when the test loss is the best so far. Runs before the checkpoint
     * of the same step is written, so a resumed run finds every checkpointed evaluation's adapter and metrics on disk.
     */
    static final class Recorder implements TrainingRun.Listener {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final FineTune ft;
        private final TrainingRun run;
        private final Path out, file;
        private final List<ObjectNode> rows = new ArrayList<>();

        /** {@code resumedAt}: the step a resumed run continues from (metrics up to it are kept), or -1 for a fresh run. */
        Recorder(FineTune ft, TrainingRun run, Path out, long resumedAt) {
            this.ft = ft;
            this.run = run;
            this.out = out;
            this.file = out.resolve(METRICS);
            if (resumedAt >= 0) removeStaleTemporaries(out);
            if (resumedAt >= 0 && Files.isRegularFile(file)) {
                int lineNo = 0;
                try {
                    for (String line : Files.readAllLines(file)) {
                        lineNo++;
                        if (line.isBlank()) continue;
                        JsonNode n = JSON.readTree(line);
                        if (!(n instanceof ObjectNode row) || !n.path("step").canConvertToLong())
                            throw new FfwdException(file + ":" + lineNo + ": expected a JSON object with a \"step\"");
                        if (row.get("step").asLong() <= resumedAt) rows.add(row);
                    }
                } catch (IOException e) {
                    throw new FfwdException(file + ":" + (lineNo + 1) + ": cannot read metrics: " + e.getMessage().lines().findFirst().orElse(""));
                }
            }
        }

        /** Temporary files of writes that a killed run left unfinished (the checkpoint's are removed by the run itself). */
        private static void removeStaleTemporaries(Path out) {
            try {
                AtomicFiles.removeStale(out.resolve(METRICS));
                for (String dir : List.of(BEST, LAST))
                    for (String f : List.of("adapter_model.safetensors", "adapter_config.json", "ffwd_classifier.json"))
                        AtomicFiles.removeStale(out.resolve(dir).resolve(f));
            } catch (IOException e) {
                throw new FfwdException(out + ": cannot remove stale temporary files: " + e.getMessage());
            }
        }

        @Override
        public void onEval(History.Point p) {
            ObjectNode row = JSON.createObjectNode();
            row.put("step", p.step());
            if (Double.isFinite(p.trainLoss())) row.put("train_loss", p.trainLoss());
            else row.putNull("train_loss");
            row.put("test_loss", p.testLoss());
            row.put("flops_paper", p.flopsPaper());
            row.put("flops_exact", p.flopsExact());
            row.put("wall_seconds", p.wallSeconds());
            if (p.accuracy() != null) row.put("accuracy", p.accuracy());
            if (p.macroF1() != null) row.put("macro_f1", p.macroF1());
            rows.removeIf(r -> r.get("step").asLong() >= p.step());
            rows.add(row);
            StringBuilder b = new StringBuilder();
            rows.forEach(r -> b.append(r).append('\n'));
            try {
                AtomicFiles.writeString(file, b.toString());
            } catch (IOException e) {
                throw new FfwdException(file + ": cannot write metrics: " + e.getMessage());
            }
            List<History.Point> pts = run.history().points;
            double bestBefore = pts.subList(0, pts.size() - 1).stream().mapToDouble(History.Point::testLoss).min().orElse(Double.POSITIVE_INFINITY);
            if (p.testLoss() < bestBefore) ft.saveAdapter(out.resolve(BEST));
        }
    }
}
