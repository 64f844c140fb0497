package dev.ffwd.cli;

import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.report.ComparisonReport;
import dev.ffwd.report.Experiment;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.Method;
import dev.ffwd.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Plain LoRA over a learning-rate grid vs. Fast Forward at equal test loss; writes report.json, report.md and plots.")
class CompareCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin TrainOptions opts;
    @Option(names = "--out", defaultValue = "runs/compare", paramLabel = "DIR", description = "Report directory (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--overwrite", arity = "0..1", description = "Replace a non-empty OUT.") boolean overwrite;
    @Option(names = "--resume", description = "Continue a killed comparison in OUT: finished arms are loaded, not re-run.") boolean resume;
    @Option(names = "--modes", split = ",", defaultValue = "paper,ffwd",
            description = "FF variants to run (see --ff-mode), e.g. paper,search,ffwd,ffwd-guard (default: ${DEFAULT-VALUE}).") List<String> modes;
    @Option(names = "--methods", split = ",", paramLabel = "METHOD",
            description = "Tuning-free methods, each from its own default lr: OPTIMIZER[@LR][+FF-VARIANT] (e.g. prodigy, schedule-free, "
                    + "dadapt-adam, schedule-free+ffwd) or an FF variant on AdamW from " + Method.FF_START_LR + " (e.g. ffwd+lr); 'none' for none "
                    + "(default: the tuning-free default and the anchors, prodigy and schedule-free).") List<String> methods;
    @Option(names = "--reseeds", defaultValue = "" + Comparison.Plan.RESEEDS, paramLabel = "N",
            description = "Re-run the grid's tuned lr N times with fresh training seeds (same split), as methods run: how often the tuned "
                    + "recipe itself reaches L* again (default: ${DEFAULT-VALUE}).") int reseeds;
    @Option(names = "--lr-grid", split = ",", paramLabel = "LR", description = "Learning rates for plain AdamW baselines (default: --lr alone).") List<String> lrGrid;
    @Option(names = "--ff-lrs", split = ",", defaultValue = "lr,tuned", paramLabel = "LR",
            description = "Learning rates for FF arms: lr (the --lr), tuned (the grid's best) or values (default: ${DEFAULT-VALUE}).") List<String> ffLrs;
    @Option(names = "--patience", defaultValue = "" + Comparison.Plan.PATIENCE, description = "Arms stop after this many evaluations without improvement (default: ${DEFAULT-VALUE}).") int patience;
    @Option(names = "--repeats", defaultValue = "" + Comparison.Plan.REPEATS, description = "Re-run every arm this many times in all, for min/median wall time (default: ${DEFAULT-VALUE}).") int repeats;

    @Override
    public void run() {
        Comparison.Result r = execute();
        System.out.print(ComparisonReport.baselineTable(r) + (r.methods().isEmpty() && r.reseeded().isEmpty() ? "" : "\n" + ComparisonReport.methodTable(r))
                + (r.ff().isEmpty() ? "" : "\n" + ComparisonReport.ffTable(r)));
        System.out.println("report: " + out.resolve("report.md"));
    }

    /** Runs the comparison and writes its report; returns the result. */
    Comparison.Result execute() {
        return run(this::experiment, out, overwrite, resume, opts);
    }

    /**
     * Runs the experiment that {@code experiment} builds (after OUT is prepared: building it may refuse a setting) in
     * {@code out}, with {@code opts}'s cluster and progress bars; a comparison refused before it wrote anything leaves
     * no OUT behind.
     */
    static Comparison.Result run(java.util.function.Supplier<Experiment> experiment, Path out, boolean overwrite, boolean resume, TrainOptions opts) {
        boolean existed = Files.exists(out);
        OutputDir.prepare(out, overwrite, resume);
        try {
            Experiment e = experiment.get();
            try (Progress progress = new Progress(e.options().train().maxSteps())) {
                return e.run(opts::distribute, progress);
            }
        } catch (RuntimeException e) {
            if (!existed) OutputDir.removeIfEmpty(out);
            throw e;
        }
    }

    /** The experiment these options describe, recorded in OUT. */
    Experiment experiment() {
        // The grid is plain AdamW (or --optimizer); its main lr, for the paper's same-lr arms, is --lr, else the grid's first.
        if (opts.lr == null) opts.lr = lrGrid != null && !lrGrid.isEmpty() ? lrGrid.get(0) : Double.toString(TrainConfig.LR);
        String lr = opts.lrText();
        Map<String, FfConfig> variants = new LinkedHashMap<>();
        for (String m : modes) if (!m.isBlank() && !m.trim().equals("none")) variants.put(m.trim(), FfConfig.parse(m, opts.ffBase()));
        Map<String, Method> methodMap = new LinkedHashMap<>();
        for (String m : methods == null ? Method.compared() : methods)
            if (!m.isBlank() && !m.trim().equals("none")) methodMap.put(m.trim().toLowerCase(java.util.Locale.ROOT), Method.parse(m, opts.ffBase()));
        return new Experiment(opts.options(), Comparison.Plan.builder(lr).grid(lrGrid == null ? List.of(lr) : lrGrid).ffLrs(ffLrs)
                .variants(variants).methods(methodMap).reseeds(reseeds).patience(patience).repeats(repeats).dir(out).resume(resume).build());
    }
}
