package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.report.ComparisonReport;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.Method;
import dev.ffwd.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Plain LoRA over a learning-rate grid vs. Fast Forward at equal test loss; writes report.json, report.md and plots.")
class CompareCommand implements Runnable {
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
    @Option(names = "--lr-grid", split = ",", paramLabel = "LR", description = "Learning rates for plain AdamW baselines (default: --lr alone).") List<String> lrGrid;
    @Option(names = "--ff-lrs", split = ",", defaultValue = "lr,tuned", paramLabel = "LR",
            description = "Learning rates for FF arms: lr (the --lr), tuned (the grid's best) or values (default: ${DEFAULT-VALUE}).") List<String> ffLrs;
    @Option(names = "--patience", defaultValue = "" + Comparison.Plan.PATIENCE, description = "Arms stop after this many evaluations without improvement (default: ${DEFAULT-VALUE}).") int patience;
    @Option(names = "--repeats", defaultValue = "" + Comparison.Plan.REPEATS, description = "Re-run every arm this many times in all, for min/median wall time (default: ${DEFAULT-VALUE}).") int repeats;

    @Override
    public void run() {
        Comparison.Result r = execute();
        System.out.print(ComparisonReport.baselineTable(r) + (r.methods().isEmpty() ? "" : "\n" + ComparisonReport.methodTable(r))
                + (r.ff().isEmpty() ? "" : "\n" + ComparisonReport.ffTable(r)));
        System.out.println("report: " + out.resolve("report.md"));
    }

    /** Runs the comparison and writes its report; returns the result. */
    Comparison.Result execute() {
        boolean existed = Files.exists(out);
        OutputDir.prepare(out, overwrite, resume);
        try {
            return compare();
        } catch (RuntimeException e) {
            if (!existed) OutputDir.removeIfEmpty(out);  // a comparison refused before it wrote anything leaves no OUT
            throw e;
        }
    }

    private Comparison.Result compare() {
        // The grid is plain AdamW (or --optimizer); its main lr, for the paper's same-lr arms, is --lr, else the grid's first.
        if (opts.lr == null) opts.lr = lrGrid != null && !lrGrid.isEmpty() ? lrGrid.get(0) : Double.toString(TrainConfig.LR);
        FineTune.Options o = opts.options();
        String lr = opts.lrText();
        Map<String, FfConfig> variants = new LinkedHashMap<>();
        for (String m : modes) if (!m.isBlank() && !m.trim().equals("none")) variants.put(m.trim(), FfConfig.parse(m, opts.ffBase()));
        Map<String, Method> methodMap = new LinkedHashMap<>();
        for (String m : methods == null ? Method.compared() : methods)
            if (!m.isBlank() && !m.trim().equals("none")) methodMap.put(m.trim().toLowerCase(java.util.Locale.ROOT), Method.parse(m, opts.ffBase()));
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.valueToTree(o);
        ((ObjectNode) cfg.path("train").path("optimizer")).put("name", o.train().optimizer().name());  // the grid's optimizer, by name
        cfg.set("variants", json.valueToTree(variants));
        cfg.set("methods", json.valueToTree(methodMap.keySet()));
        cfg.put("lr_text", lr);
        cfg.set("lr_grid", json.valueToTree(lrGrid == null ? List.of(lr) : lrGrid));
        cfg.set("ff_lrs", json.valueToTree(ffLrs));
        cfg.put("patience", patience);
        cfg.put("repeats", repeats);
        String planText = checkPlan(cfg);
        Comparison.Plan plan = Comparison.Plan.builder(lr).grid(lrGrid == null ? List.of(lr) : lrGrid).ffLrs(ffLrs).variants(variants)
                .methods(methodMap).patience(patience).repeats(repeats).dir(out).resume(resume).build();
        try (FineTune ft = FineTune.prepare(o); TrainOptions.Distributed cluster = opts.distribute(ft);
             Progress progress = new Progress(o.train().maxSteps())) {
            System.err.printf("data: %d train, %d test, %d validation examples; target modules %s%n", ft.splits.train().size(),
                    ft.splits.test().size(), ft.splits.validation().size(), o.lora().targets());
            writePlan(planText);  // only once the model and data have loaded: a run refused before leaves no plan behind
            Comparison.Result r = Comparison.run(ft, plan, progress);
            ComparisonReport.write(out, r, cfg);
            return r;
        }
    }

    /** A resumed comparison must be the same experiment; returns the plan's text, for {@link #writePlan}. */
    private String checkPlan(ObjectNode cfg) {
        Path file = out.resolve("plan.json");
        try {
            ObjectMapper json = new ObjectMapper();
            String text = json.writerWithDefaultPrettyPrinter().writeValueAsString(cfg);
            if (resume && Files.isRegularFile(file)) {
                var before = json.readTree(file.toFile());
                var now = json.readTree(text);  // through text, so that numbers compare as they were written
                if (!before.equals(now)) {
                    String field = "";
                    for (var it = now.fieldNames(); it.hasNext(); ) {
                        String f = it.next();
                        if (!now.get(f).equals(before.get(f))) { field = f; break; }
                    }
                    throw new FfwdException(file + ": --resume with different settings (" + field
                            + " differs); rerun with the original options or use --overwrite");
                }
            }
            return text;
        } catch (IOException e) {
            throw new FfwdException(file + ": " + e.getMessage());
        }
    }

    private void writePlan(String text) {
        Path file = out.resolve("plan.json");
        try {
            AtomicFiles.writeString(file, text);
        } catch (IOException e) {
            throw new FfwdException(file + ": " + e.getMessage());
        }
    }
}
