package dev.ffwd.report;

import dev.ffwd.Stats;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.History;
import dev.ffwd.train.Method;
import dev.ffwd.train.TrainingRun;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/** Writes a comparison as report.json, report.md (tables like the paper's) and PNG plots. */
public final class ComparisonReport {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The line-profile table alone, when the comparison ran {@code profile} arms (docs/results.md includes it). */
    public static final String LINE_PROFILE_MD = "line_profile.md";

    private ComparisonReport() {}

    public static void write(Path dir, Comparison.Result r, ObjectNode configuration) {
        try {
            Files.createDirectories(dir);
            AtomicFiles.writeString(dir.resolve("report.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json(r, configuration)) + "\n");
            AtomicFiles.writeString(dir.resolve("report.md"), markdown(r));
            String profile = lineProfileTable(r);
            if (!profile.isEmpty()) AtomicFiles.writeString(dir.resolve(LINE_PROFILE_MD), profile);
            plot(dir.resolve("loss_vs_flops.png"), r, LOSS, FLOPS_AXIS, p -> p.flopsExact() / 1e12, s -> s.flopsExact() / 1e12);
            plot(dir.resolve("loss_vs_wall.png"), r, LOSS, "wall-clock seconds (train + FF)", History.Point::wallSeconds, History.StageAt::wallSeconds);
            if (classifies(r)) plot(dir.resolve(ACCURACY_PLOT), r, ACCURACY, FLOPS_AXIS, p -> p.flopsExact() / 1e12, s -> s.flopsExact() / 1e12);
            for (Comparison.Arm a : r.ff()) if (!a.history().stages.isEmpty()) plotLine(dir.resolve(linePlot(a)), a);
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot write report: " + e.getMessage());
        }
    }

    /** The accuracy plot's file, written for classification tasks only. */
    public static final String ACCURACY_PLOT = "accuracy_vs_flops.png";
    private static final String FLOPS_AXIS = "TFLOPs (exact, LoRA-aware)";

    /** What a plot shows on its y axis; the tuned target is drawn on the test-loss plot. */
    private record Curve(String title, ToDoubleFunction<History.Point> y, boolean target) {}

    private static final Curve LOSS = new Curve("test loss", History.Point::testLoss, true);
    private static final Curve ACCURACY = new Curve("test accuracy", p -> p.accuracy() == null ? Double.NaN : p.accuracy(), false);

    /** Whether the arms are classifiers (their evaluations carry a test accuracy). */
    static boolean classifies(Comparison.Result r) {
        return r.arms().stream().anyMatch(a -> a.history().hasAccuracy());
    }

    public static ObjectNode json(Comparison.Result r, ObjectNode configuration) {
        ObjectNode root = JSON.createObjectNode();
        root.put("lr", r.lr());
        root.put("target_test_loss", r.baseline().bestSmoothed());
        root.put("smoothing_window", History.WINDOW);
        ObjectNode tuned = root.putObject("tuned");
        tuned.put("lr", r.tunedLr());
        tuned.put("target_test_loss", r.tunedTarget());
        tuned.put("threshold", r.threshold());
        tuned.put("learned", r.learned());
        Comparison.Cost atTarget = r.tunedBaseline().costAt(r.threshold());
        cost(tuned.putObject("cost"), atTarget);
        if (atTarget.accuracy() != null) tuned.put("test_accuracy_at_target", atTarget.accuracy());
        tuned.put("grid_flops_exact", r.gridFlopsExact());
        ObjectNode arms = root.putObject("arms"), baselines = root.putObject("baselines");
        for (Comparison.Arm a : r.arms()) arms.set(a.name(), arm(a, a.variant()));
        ObjectNode methods = root.putObject("methods");
        r.methods().forEach((name, a) -> methods.set(name, method(r, a)));
        if (!r.reseeded().isEmpty()) {  // the tuned lr on fresh seeds: how often the tuned recipe itself gets to L* again
            ObjectNode reseeded = tuned.putObject("reseeded");
            for (Comparison.Arm a : r.reseeded()) reseeded.set(a.name(), method(r, a));
        }
        root.put("default_method", Method.DEFAULT);
        r.baselines().forEach((lr, a) -> baselines.set(lr, arms.get(a.name())));
        ObjectNode same = root.putObject("savings"), vsTuned = root.putObject("savings_vs_tuned"), vsGrid = root.putObject("savings_vs_grid");
        for (Comparison.Arm a : r.ff()) {
            same.set(a.name(), saving(r.vsSameLr(a)));
            vsTuned.set(a.name(), saving(r.vsTuned(a)));
            if (r.vsGrid(a) != null) vsGrid.set(a.name(), saving(r.vsGrid(a)));
        }
        measurement(root.putObject("measurement"), r.arms());
        root.set("configuration", configuration);
        ObjectNode v = root.putObject("versions");
        v.put("ffwd", String.valueOf(ComparisonReport.class.getPackage().getImplementationVersion()));
        v.put("java", System.getProperty("java.version"));
        ai.djl.engine.Engine torch = ai.djl.engine.Engine.getEngine("PyTorch");  // read from the engine that ran, not typed
        v.put("djl", ai.djl.engine.Engine.getDjlVersion());
        v.put("libtorch", torch.getVersion() + (torch.hasCapability(ai.djl.engine.StandardCapabilities.CUDA) ? " (cuda)" : " (cpu)"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        v.put("cpus", Runtime.getRuntime().availableProcessors());
        return root;
    }


    /**
     * A tuning-free method's line (or a re-seeded tuned run's): whether and at what exact cost it reached the threshold,
     * against the tuned run and the grid.
     */
    private static ObjectNode method(Comparison.Result r, Comparison.Arm a) {
        ObjectNode n = JSON.createObjectNode();
        Comparison.Cost c = r.learned() ? a.costAt(r.threshold()) : null;  // an L* the grid did not learn is reached by standing still
        n.put("reached", c != null);
        if (c != null) n.put("flops_exact", c.flopsExact()).put("step", c.step());
        else n.putNull("flops_exact");
        Double vsTuned = r.ratioVsTuned(a), vsGrid = r.ratioVsGrid(a);
        if (vsTuned != null) n.put("ratio_vs_tuned", vsTuned); else n.putNull("ratio_vs_tuned");
        if (vsGrid != null) n.put("ratio_vs_grid", vsGrid); else n.putNull("ratio_vs_grid");
        n.put("final_test_loss", a.history().lastTestLoss());
        n.put("best_smoothed_test_loss", a.bestSmoothed());
        n.put("lr", a.lr());
        n.put("stop", a.stop().name().toLowerCase(Locale.ROOT));
        if (c != null && c.accuracy() != null) n.put("test_accuracy", c.accuracy());
        return n;
    }

    private static ObjectNode arm(Comparison.Arm a, String variant) {
        ObjectNode n = JSON.createObjectNode();
        n.put("lr", a.lr());
        n.put("variant", variant);
        if (a.ff() != null) n.set("fast_forward", JSON.valueToTree(a.ff()));
        n.put("stop", a.stop().name().toLowerCase(Locale.ROOT));
        n.put("budget_cut", a.stop() == TrainingRun.Stop.MAX_STEPS);
        if (a.error() != null) n.put("error", a.error());
        n.put("steps_run", a.steps());
        n.put("best_test_loss", a.bestTestLoss());
        n.put("best_smoothed_test_loss", a.bestSmoothed());
        n.put("final_test_loss", a.history().lastTestLoss());
        Comparison.Cost best = a.costAt(a.bestSmoothed());
        if (a.history().hasAccuracy()) {
            n.put("best_test_accuracy", a.history().bestAccuracy());
            n.put("test_accuracy_at_best_loss", a.history().best().accuracy());
            n.put("macro_f1_at_best_loss", a.history().best().macroF1());
            n.put("final_test_accuracy", a.total().accuracy());
        }
        if (best != null) cost(n.putObject("cost_to_best"), best);
        cost(n.putObject("cost_total"), a.total());
        List<History.StageAt> st = a.history().stages;
        n.put("ff_stages", st.size());
        n.put("ff_rejected", st.stream().filter(s -> s.stage().tau() == 0).count());
        n.put("ff_steps_gained", st.stream().mapToDouble(s -> s.stage().stepsGained()).sum());
        n.put("ff_evaluations", st.stream().mapToInt(s -> s.stage().evaluations()).sum());
        ArrayNode curve = n.putArray("curve");
        for (History.Point p : a.history().points) {
            ObjectNode c = curve.addObject().put("step", p.step()).put("flops_paper", p.flopsPaper()).put("flops_exact", p.flopsExact())
                    .put("wall_seconds", p.wallSeconds()).put("test_loss", p.testLoss()).put("train_loss", p.trainLoss());
            if (p.accuracy() != null) c.put("test_accuracy", p.accuracy());
            if (p.macroF1() != null) c.put("macro_f1", p.macroF1());
        }
        ArrayNode stages = n.putArray("stages");
        for (History.StageAt s : st) {
            FastForward.Stage g = s.stage();
            ObjectNode sn = stages.addObject().put("step", g.step()).put("span", g.span()).put("tau", g.tau())
                    .put("evaluations", g.evaluations()).put("non_finite", g.hitNonFinite());
            if (g.lrScale() != null) sn.put("lr_scale", g.lrScale());
            g.taus().forEach(sn.putArray("taus")::add);
            g.losses().forEach(sn.putArray("validation_losses")::add);
        }
        ArrayNode walls = n.putArray("wall_repeats");
        a.walls().forEach(w -> walls.add(w.length == 0 ? 0 : w[w.length - 1]));
        if (a.history().evalTimeRecorded()) n.put("eval_seconds", a.history().evalSeconds);
        else n.putNull("eval_seconds");  // an arm loaded from a file written before the record
        return n;
    }

    /**
     * How long the arms took, first repeat: training and FF (the methods' cost) and the test-loss evaluations that
     * watched them (the measurement's own cost), over the {@code arms} that recorded both, {@code of} all. Model
     * loading, data preparation and the warm-up are not counted.
     */
    static void measurement(ObjectNode n, List<Comparison.Arm> arms) {
        double train = 0, eval = 0;
        int recorded = 0;
        for (Comparison.Arm a : arms) {
            if (!a.history().evalTimeRecorded()) continue;
            List<History.Point> pts = a.history().points;
            train += pts.isEmpty() ? 0 : pts.get(pts.size() - 1).wallSeconds();
            eval += a.history().evalSeconds;
            recorded++;
        }
        n.put("arms", recorded).put("of", arms.size()).put("train_seconds", train).put("eval_seconds", eval);
    }

    private static void cost(ObjectNode n, Comparison.Cost c) {
        n.put("step", c.step()).put("flops_paper", c.flopsPaper()).put("flops_exact", c.flopsExact())
                .put("wall_seconds", c.wallMedian()).put("wall_seconds_min", c.wallMin());
        if (c.accuracy() != null) n.put("test_accuracy", c.accuracy());
    }

    private static ObjectNode saving(Comparison.Saving s) {
        ObjectNode n = JSON.createObjectNode().put("reached", s.reached()).put("lr", s.lr());
        if (s.reached())
            n.put("flops_paper_percent", s.flopsPaperPercent()).put("flops_exact_percent", s.flopsExactPercent())
                    .put("wall_percent", s.wallPercent()).put("wall_min_percent", s.wallMinPercent());
        if (s.accuracy() != null) n.put("test_accuracy", s.accuracy());
        if (s.referenceAccuracy() != null) n.put("reference_test_accuracy", s.referenceAccuracy());
        return n;
    }

    public static String markdown(Comparison.Result r) {
        StringBuilder sb = new StringBuilder("# Fast Forward vs. plain LoRA\n\n");
        Double targetAccuracy = r.tunedBaseline().costAt(r.threshold()).accuracy();
        sb.append(String.format(Locale.ROOT, "Tuned target L* = **%.4f**: the lowest, over plain %s LoRA at the learning rates %s, "
                + "of each run's best %d-evaluation mean test loss (lr %s%s). A run reaches it at its first evaluation whose "
                + "%d-evaluation mean is at or below L*·%s = %.4f.%n%n", r.tunedTarget(), r.optimizer(), String.join(", ", r.baselines().keySet()),
                History.WINDOW, r.tunedLr(), targetAccuracy == null ? "" : ", with test accuracy " + accuracy(targetAccuracy) + " there",
                History.WINDOW, Comparison.SLACK, r.threshold()));
        sb.append(baselineTable(r));
        if (!r.methods().isEmpty() || !r.reseeded().isEmpty()) sb.append('\n').append(methodTable(r));
        if (!r.ff().isEmpty()) sb.append('\n').append(ffTable(r));
        String profile = lineProfileTable(r);
        if (!profile.isEmpty()) sb.append("\n### The line at each stage (`profile` arms)\n\n").append(profile);
        sb.append("\nCost is counted to the first evaluation whose smoothed test loss is at or below the threshold; test-loss evaluations are charged to no arm. ")
                .append("*paper*: 3 × forward FLOPs per train step plus FF validation passes; *exact*: LoRA-aware backward. ")
                .append(classifies(r) ? "Accuracy is on the test split, at the evaluation named (the best test loss, or the first at or below the tuned target). " : "")
                .append("Wall time is the median over repeats. A saving is given only for an arm that reached its target.\n\n")
                .append("![test loss vs FLOPs](loss_vs_flops.png)\n\n![test loss vs wall time](loss_vs_wall.png)\n")
                .append(classifies(r) ? "\n![test accuracy vs FLOPs](" + ACCURACY_PLOT + ")\n" : "");
        for (Comparison.Arm a : r.ff())
            if (!a.history().stages.isEmpty()) sb.append("\n![tiny-validation loss along Δ, ").append(a.name()).append("](").append(linePlot(a)).append(")\n");
        return sb.toString();
    }

    /** The plain optimizer at each learning rate of the grid: where it stopped and what its best loss cost. */
    public static String baselineTable(Comparison.Result r) {
        boolean acc = classifies(r);
        StringBuilder sb = new StringBuilder("| baseline lr | best " + History.WINDOW + "-eval mean test loss |" + (acc ? " test accuracy there |" : "")
                + " at step | stopped by | GFLOPs paper | GFLOPs exact | wall s |\n|---|---:|" + (acc ? "---:|" : "") + "---:|---|---:|---:|---:|\n");
        for (Comparison.Arm a : r.baselines().values()) {
            Comparison.Cost c = a.costAt(a.bestSmoothed());
            sb.append(String.format(Locale.ROOT, "| %s%s | %.4f |%s %s | %s | %s | %s | %s |%n", a.lr(), a.lr().equals(r.tunedLr()) ? " (tuned)" : "",
                    a.bestSmoothed(), acc ? " " + (c == null ? "—" : accuracy(c.accuracy())) + " |" : "", c == null ? "—" : c.step(), stopText(a),
                    c == null ? "—" : gflops(c.flopsPaper()), c == null ? "—" : gflops(c.flopsExact()),
                    c == null ? "—" : String.format(Locale.ROOT, "%.1f", c.wallMedian())));
        }
        return sb.toString();
    }

    /** Each tuning-free method from its own default: whether it reached L*, and its exact FLOPs against the tuned run and the whole grid. */
    public static String methodTable(Comparison.Result r) {
        Comparison.Cost tuned = r.tunedBaseline().costAt(r.threshold());
        StringBuilder sb = new StringBuilder("| method (from its own default lr) | reached L* | at step | GFLOPs exact | × tuned " + r.optimizer()
                + " | × whole grid | final test loss |\n|---|---|---:|---:|---:|---:|---:|\n");
        sb.append(String.format(Locale.ROOT, "| %s at the tuned lr %s (needs the grid) | yes | %d | %s | 1.00 | %.2f | %.4f |%n", r.optimizer(), r.tunedLr(),
                tuned.step(), gflops(tuned.flopsExact()), tuned.flopsExact() / r.gridFlopsExact(), r.tunedBaseline().history().lastTestLoss()));
        r.methods().forEach((name, a) -> methodRow(sb, r, name + (name.equals(Method.DEFAULT) ? " **(default)**" : "") + " (lr " + a.lr() + ")", a));
        for (Comparison.Arm a : r.reseeded())
            methodRow(sb, r, r.optimizer() + " at the tuned lr " + a.lr() + ", fresh seed (" + a.name() + ")", a);
        return sb.toString();
    }

    private static void methodRow(StringBuilder sb, Comparison.Result r, String label, Comparison.Arm a) {
        Comparison.Cost c = r.learned() ? a.costAt(r.threshold()) : null;
        sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %.4f |%n", label,
                c != null ? "yes" : a.diverged() ? "**diverged**" : "no", c == null ? "—" : c.step(), c == null ? "—" : gflops(c.flopsExact()),
                c == null ? "—" : String.format(Locale.ROOT, "%.2f", r.ratioVsTuned(a)),
                c == null ? "—" : String.format(Locale.ROOT, "%.2f", r.ratioVsGrid(a)), a.history().lastTestLoss()));
    }

    /** Each FF arm against the baseline at its own lr, against the tuned baseline, and against the whole grid. */
    public static String ffTable(Comparison.Result r) {
        boolean acc = classifies(r);
        StringBuilder sb = new StringBuilder("| FF arm |" + (acc ? " test accuracy: at tuned target / best |" : "")
                + " stages (rejected) | probes | vs same lr: saved paper / exact / wall "
                + "| vs tuned: saved paper / exact / wall | vs whole grid: exact |\n|---|" + (acc ? "---:|" : "") + "---:|---:|---|---|---:|\n");
        for (Comparison.Arm a : r.ff()) {
            List<History.StageAt> st = a.history().stages;
            Comparison.Saving grid = r.vsGrid(a);
            Comparison.Cost atTarget = a.costAt(r.threshold());
            String accuracyCell = !acc ? "" : " " + (atTarget == null ? "not reached" : accuracy(atTarget.accuracy())) + " / "
                    + accuracy(a.history().bestAccuracy()) + " |";
            sb.append(String.format(Locale.ROOT, "| %s%s |%s %d (%d) | %d | %s | %s | %s |%n", a.name(), a.diverged() ? " (diverged)" : "",
                    accuracyCell, st.size(), st.stream().filter(s -> s.stage().tau() == 0).count(),
                    st.stream().mapToInt(s -> s.stage().evaluations()).sum(), three(r.vsSameLr(a)), three(r.vsTuned(a)),
                    grid == null ? "n/a (at the tuned lr)" : grid.reached() ? pct(grid.flopsExactPercent()) : "not reached"));
        }
        return sb.toString();
    }

    /**
     * What the line θ_t + τΔ held at each learning rate, from the {@code profile} arms (which measure it and never
     * move θ): the validation loss at each τ relative to θ_t's, median over stages, and how many stages had a τ > 0
     * below θ_t at all. A ratio under 1 at τ > 0 is what Fast Forward can take; over 1 everywhere, it can only pay probes.
     */
    public static String lineProfileTable(Comparison.Result r) {
        List<Comparison.Arm> arms = r.ff().stream().filter(a -> a.ff().mode() == FfConfig.Mode.PROFILE).toList();
        if (arms.isEmpty()) return "";
        List<Double> taus = FfConfig.PROFILE_TAUS.stream().filter(t -> t != 0).toList();
        StringBuilder sb = new StringBuilder("| lr | stages | ");
        taus.forEach(t -> sb.append(String.format(Locale.ROOT, "τ = %s | ", num(t))));
        sb.append("stages with a τ > 0 below θ_t | best τ, median |\n|---|---:|").append("---:|".repeat(taus.size() + 2)).append('\n');
        for (Comparison.Arm a : arms) {
            List<FastForward.Stage> st = a.history().stages.stream().map(History.StageAt::stage)
                    .filter(g -> !g.hitNonFinite() && g.taus().contains(0.0)).toList();
            sb.append(String.format(Locale.ROOT, "| %s | %d | ", a.lr(), st.size()));
            for (double t : taus)
                sb.append(String.format(Locale.ROOT, "%.2f | ", Stats.median(st.stream().mapToDouble(g -> lossAt(g, t) / lossAt(g, 0)).toArray())));
            long better = st.stream().filter(g -> bestTau(g) > 0).count();
            sb.append(String.format(Locale.ROOT, "%d of %d | %s |%n", better, st.size(),
                    st.isEmpty() ? "—" : num(Stats.median(st.stream().mapToDouble(ComparisonReport::bestTau).toArray()))));
        }
        return sb.append("\nEach cell: validation loss at θ_t + τΔ over the loss at θ_t, median over the arm's stages ")
                .append("(Δ spans the whole interval). Measured by `--modes profile`.\n").toString();
    }

    private static double lossAt(FastForward.Stage g, double tau) {
        int i = g.taus().indexOf(tau);
        return i < 0 ? Double.NaN : g.losses().get(i);
    }

    private static double bestTau(FastForward.Stage g) {
        int best = 0;
        for (int i = 1; i < g.losses().size(); i++) if (g.losses().get(i) < g.losses().get(best)) best = i;
        return g.taus().get(best);
    }

    private static String num(double v) {
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", v);
    }

    private static String stopText(Comparison.Arm a) {
        return switch (a.stop()) {
            case PLATEAU -> "plateau";
            case MAX_STEPS -> "**budget** (still improving?)";
            case TARGET_REACHED -> "target";
            case DIVERGED -> "**diverged**";
        };
    }

    private static String three(Comparison.Saving s) {
        return s.reached() ? pct(s.flopsPaperPercent()) + " / " + pct(s.flopsExactPercent()) + " / " + pct(s.wallPercent()) : "not reached";
    }

    private static String gflops(double f) {
        return String.format(Locale.ROOT, "%,.0f", f / 1e9);
    }

    /** An accuracy in [0, 1] as a percentage, or "—" where none was recorded. */
    private static String accuracy(Double v) {
        return v == null ? "—" : pct(100 * v);
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f%%", v);
    }

    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
            new Color(0xff7f0e), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf), new Color(0x7f7f7f), new Color(0x000000)};

    private static void plot(Path file, Comparison.Result r, Curve y, String xLabel, ToDoubleFunction<History.Point> x,
                             Function<History.StageAt, Double> stageX) throws IOException {
        String title = Character.toUpperCase(y.title().charAt(0)) + y.title().substring(1);
        XYChart chart = new XYChartBuilder().width(1000).height(600).title(title).xAxisTitle(xLabel).yAxisTitle(y.title()).build();
        chart.getStyler().setMarkerSize(6);
        chart.getStyler().setXAxisDecimalPattern("#,##0.0");
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        int i = 0;
        for (Comparison.Arm a : r.arms()) {
            List<History.Point> pts = a.history().points;
            Color c = COLORS[i++ % COLORS.length];  // an arm keeps its colour in every plot
            double[] xs = pts.stream().mapToDouble(x).toArray(), ys = pts.stream().mapToDouble(y.y()).toArray();
            if (pts.isEmpty() || java.util.Arrays.stream(ys).anyMatch(Double::isNaN)) continue;  // nothing recorded to draw
            XYSeries s = chart.addSeries(a.name(), xs, ys);
            s.setMarker(MARKERS[(i - 1) % MARKERS.length]);  // and its marker
            s.setLineColor(c);
            s.setMarkerColor(c);
            if (r.baselines().containsValue(a)) s.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[]{6f, 4f}, 0f));
            if (!a.history().stages.isEmpty()) {  // FF stages, placed on the arm's curve at the stage's cost
                double[] sx = a.history().stages.stream().mapToDouble(stageX::apply).toArray();
                double[] sy = java.util.Arrays.stream(sx).map(v -> interpolate(xs, ys, v)).toArray();
                XYSeries ss = chart.addSeries(a.name() + " FF stages", sx, sy);
                ss.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                ss.setMarker(SeriesMarkers.DIAMOND);
                ss.setMarkerColor(c);
                ss.setShowInLegend(false);
            }
        }
        if (y.target()) {
            double max = r.arms().stream().flatMap(a -> a.history().points.stream()).mapToDouble(x).max().orElse(1);
            XYSeries t = chart.addSeries("L*·" + Comparison.SLACK, new double[]{0, max}, new double[]{r.threshold(), r.threshold()});
            t.setMarker(SeriesMarkers.NONE);
            t.setLineColor(Color.GRAY);
        }
        save(chart, file);
    }

    /** Arm markers; the diamond is kept for FF stages. */
    private static final org.knowm.xchart.style.markers.Marker[] MARKERS = {SeriesMarkers.CIRCLE, SeriesMarkers.SQUARE,
            SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN, SeriesMarkers.CROSS, SeriesMarkers.PLUS, SeriesMarkers.OVAL,
            SeriesMarkers.RECTANGLE, SeriesMarkers.TRAPEZOID};

    /** The file of an FF arm's line plot. */
    static String linePlot(Comparison.Arm a) {
        return "line_" + a.name().replaceAll("[^A-Za-z0-9@.+-]", "_") + ".png";
    }

    /**
     * The paper's analysis figure for one FF arm: at each stage (up to ten, evenly spread), the tiny-validation loss at
     * every τ the stage measured, θ_t + τΔ, in τ order.
     */
    private static void plotLine(Path file, Comparison.Arm a) throws IOException {
        XYChart chart = new XYChartBuilder().width(1000).height(600).title("Tiny-validation loss along Δ: " + a.name())
                .xAxisTitle("τ (multiples of Δ)").yAxisTitle("validation loss").build();
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        List<History.StageAt> st = a.history().stages;
        int shown = Math.min(10, st.size());
        for (int k = 0; k < shown; k++) {
            FastForward.Stage g = st.get(shown == 1 ? 0 : k * (st.size() - 1) / (shown - 1)).stage();
            java.util.TreeMap<Double, Double> line = new java.util.TreeMap<>();
            for (int j = 0; j < g.taus().size(); j++) if (Double.isFinite(g.losses().get(j))) line.put(g.taus().get(j), g.losses().get(j));
            if (line.isEmpty()) continue;
            XYSeries s = chart.addSeries("stage at step " + g.step(), line.keySet().stream().mapToDouble(Double::doubleValue).toArray(),
                    line.values().stream().mapToDouble(Double::doubleValue).toArray());
            Color c = COLORS[k % COLORS.length];
            s.setLineColor(c);
            s.setMarkerColor(c);
            s.setMarker(MARKERS[k % MARKERS.length]);
        }
        if (chart.getSeriesMap().isEmpty()) return;
        save(chart, file);
    }

    private static void save(XYChart chart, Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp.png");
        BitmapEncoder.saveBitmap(chart, tmp.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** The curve's value at {@code v}, linear between evaluations (held flat beyond them). */
    private static double interpolate(double[] xs, double[] ys, double v) {
        if (v <= xs[0]) return ys[0];
        for (int i = 1; i < xs.length; i++)
            if (v <= xs[i]) return xs[i] == xs[i - 1] ? ys[i] : ys[i - 1] + (ys[i] - ys[i - 1]) * (v - xs[i - 1]) / (xs[i] - xs[i - 1]);
        return ys[ys.length - 1];
    }
}
