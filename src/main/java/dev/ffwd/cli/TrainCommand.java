package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.History;
import dev.ffwd.train.RunRecorder;
import dev.ffwd.train.Trainer;
import dev.ffwd.train.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
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

    static final String CHECKPOINT = "checkpoint.safetensors";

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
        try (FineTune ft = FineTune.prepare(o); dev.ffwd.report.Experiment.Attachment cluster = opts.distribute(ft);
             Progress progress = new Progress(ft.options.train().maxSteps())) {
            TrainingRun run = ft.newRun(ffc, out.resolve(CHECKPOINT));
            System.err.printf("data: %d train, %d test, %d validation examples%s%n", ft.splits.train().size(), ft.splits.test().size(),
                    ft.splits.validation().size(), ft.truncated > 0 ? " (" + ft.truncated + " truncated to --max-length)" : "");
            System.err.printf(Locale.ROOT, "optimizer: %s at lr %s%s%n", o.train().optimizer().name(), opts.lrText(),
                    opts.defaultMethod() != null ? " (the tuning-free default; --lr or --optimizer chooses another)" : "");
            boolean resumed = (resume || resumeOrStart) && run.resume();
            if (resumed) System.err.printf("resumed at step %d%n", run.trainer().steps());
            RunRecorder recorder = new RunRecorder(ft, run, out, resumed ? run.trainer().steps() : -1);
            progress.onArmStart("train", ft.options.train().maxSteps());
            TrainingRun.Stop stop = run.run(patience > 0 ? TrainingRun.StopRule.plateau(patience) : TrainingRun.StopRule.budget(),
                    both(progress, recorder));
            progress.close();
            ft.saveAdapter(out.resolve(RunRecorder.LAST));
            History h = run.history();
            History.Point best = h.best();
            System.out.printf(Locale.ROOT, "steps %d%s, test loss %.4f (best %.4f at step %d%s), %d FF stages, %.1f s train+FF%n",
                    run.trainer().steps(), stop == TrainingRun.Stop.PLATEAU ? " (stopped early: no better test loss in " + patience + " evaluations)" : "",
                    h.lastTestLoss(), best.testLoss(), best.step(),
                    best.accuracy() == null ? "" : String.format(Locale.ROOT, ", accuracy %.4f", best.accuracy()), h.stages.size(),
                    run.trainer().ledger().wallSeconds());
            System.out.printf("adapter (best test loss): %s, last: %s, metrics: %s%n", out.resolve(RunRecorder.BEST), out.resolve(RunRecorder.LAST), out.resolve(RunRecorder.METRICS));
        }
    }

    private static TrainingRun.Listener both(TrainingRun.Listener a, TrainingRun.Listener b) {
        return new TrainingRun.Listener() {
            @Override public void onStep(Trainer t, double loss) { a.onStep(t, loss); b.onStep(t, loss); }
            @Override public void onEval(History.Point p) { a.onEval(p); b.onEval(p); }
            @Override public void onStage(FastForward.Stage s) { a.onStage(s); b.onStage(s); }
        };
    }
}
