package dev.ffwd.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.History;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** Writes a comparison as report.json, report.md (a table like the paper's) and PNG plots. */
public final class ComparisonReport {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ComparisonReport() {}

    /** Percent saved by {@code arm} against the baseline, at equal (target) test loss. */
    public static double saving(double baseline, double arm) {
        return 100 * (1 - arm / baseline);
    }

    public static void write(Path dir, Comparison.Result r, ObjectNode configuration) {
        try {
            Files.createDirectories(dir);
            AtomicFiles.writeString(dir.resolve("report.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json(r, configuration)) + "\n");
            AtomicFiles.writeString(dir.resolve("report.md"), markdown(r));
            plot(dir.resolve("loss_vs_flops.png"), r, "FLOPs (exact, LoRA-aware)", History.Point::flopsExact, History.StageAt::flopsExact);
            plot(dir.resolve("loss_vs_wall.png"), r, "wall-clock seconds (train + FF)", History.Point::wallSeconds, History.StageAt::wallSeconds);
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot write report: " + e.getMessage());
        }
    }

    static ObjectNode json(Comparison.Result r, ObjectNode configuration) {
        ObjectNode root = JSON.createObjectNode();
        root.put("target_test_loss", r.target());
        ObjectNode arms = root.putObject("arms");
        Comparison.Arm base = r.baseline();
        for (Comparison.Arm a : r.arms()) {
            ObjectNode n = arms.putObject(a.name());
            n.put("mode", a.ff().enabled() ? a.ff().mode().name().toLowerCase() : "off");
            n.put("steps", a.stepsToTarget());
            n.put("steps_run", a.steps());
            n.put("stop", a.stop().name().toLowerCase());
            n.put("ff_stages", a.ffStages());
            n.put("ff_repeats", a.ffRepeats());
            n.put("ff_evaluations", a.ffEvaluations());
            n.put("flops_paper", a.flopsPaper());
            n.put("flops_exact", a.flopsExact());
            n.put("wall_seconds", a.wallSeconds());
            n.put("final_test_loss", a.finalTestLoss());
            n.put("best_test_loss", a.bestTestLoss());
            n.put("reached_target", a.reachedTarget());
            ArrayNode curve = n.putArray("curve");
            for (History.Point p : a.history().points)
                curve.addObject().put("step", p.step()).put("flops_paper", p.flopsPaper()).put("flops_exact", p.flopsExact())
                        .put("wall_seconds", p.wallSeconds()).put("test_loss", p.testLoss());
            ArrayNode stages = n.putArray("stages");
            for (History.StageAt s : a.history().stages) {
                ObjectNode sn = stages.addObject().put("step", s.stage().step()).put("tau", s.stage().tau())
                        .put("evaluations", s.stage().evaluations()).put("non_finite", s.stage().hitNonFinite());
                s.stage().losses().forEach(sn.putArray("validation_losses")::add);
            }
            if (a != base) {
                ObjectNode sv = n.putObject("savings");
                sv.put("flops_paper_percent", saving(base.flopsPaper(), a.flopsPaper()));
                sv.put("flops_exact_percent", saving(base.flopsExact(), a.flopsExact()));
                sv.put("wall_percent", saving(base.wallSeconds(), a.wallSeconds()));
            }
        }
        ObjectNode savings = root.putObject("savings");
        for (Comparison.Arm a : r.arms().subList(1, r.arms().size())) savings.set(a.name(), arms.get(a.name()).get("savings"));
        root.set("configuration", configuration);
        ObjectNode v = root.putObject("versions");
        v.put("ffwd", String.valueOf(ComparisonReport.class.getPackage().getImplementationVersion()));
        v.put("java", System.getProperty("java.version"));
        v.put("djl", "0.36.0");
        v.put("libtorch", "2.7.1 (cpu)");
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        v.put("cpus", Runtime.getRuntime().availableProcessors());
        return root;
    }

    public static String markdown(Comparison.Result r) {
        StringBuilder sb = new StringBuilder();
        Comparison.Arm base = r.baseline();
        sb.append(String.format(Locale.ROOT, "# Fast Forward vs. plain LoRA\n\nTarget test loss (baseline's best): **%.4f**\n\n", r.target()));
        sb.append("| arm | reached | steps | FF stages | FF repeats | GFLOPs (paper) | saved | GFLOPs (exact) | saved | wall s | saved | final test loss |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Comparison.Arm a : r.arms()) {
            boolean isBase = a == base;
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %.1f | %.1f | %s | %.1f | %s | %.1f | %s | %.4f |\n",
                    a.name(), a.reachedTarget() ? "yes" : "**no**", a.stepsToTarget(), a.ffStages(), a.ffRepeats(),
                    a.flopsPaper() / 1e9, isBase ? "—" : pct(saving(base.flopsPaper(), a.flopsPaper())),
                    a.flopsExact() / 1e9, isBase ? "—" : pct(saving(base.flopsExact(), a.flopsExact())),
                    a.wallSeconds(), isBase ? "—" : pct(saving(base.wallSeconds(), a.wallSeconds())), a.finalTestLoss()));
        }
        sb.append("\nCost is counted up to the first evaluation at which an arm's test loss is at or below the target; ")
                .append("test-loss evaluations themselves are not charged to either arm. ")
                .append("*paper*: 3 × forward FLOPs per train step plus FF validation passes; *exact*: LoRA-aware backward.\n\n")
                .append("![test loss vs FLOPs](loss_vs_flops.png)\n\n![test loss vs wall time](loss_vs_wall.png)\n");
        return sb.toString();
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f%%", v);
    }

    private static void plot(Path file, Comparison.Result r, String xLabel, ToDoubleFunction<History.Point> x,
                             ToDoubleFunction<History.StageAt> stageX) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title("Test loss").xAxisTitle(xLabel).yAxisTitle("test loss").build();
        chart.getStyler().setMarkerSize(5);
        for (Comparison.Arm a : r.arms()) {
            List<History.Point> pts = a.history().points;
            XYSeries s = chart.addSeries(a.name(), pts.stream().mapToDouble(x).toArray(), pts.stream().mapToDouble(History.Point::testLoss).toArray());
            s.setMarker(SeriesMarkers.CIRCLE);
            if (!a.history().stages.isEmpty()) {  // FF stages, drawn at the arm's latest test loss before each
                double[] sx = a.history().stages.stream().mapToDouble(stageX).toArray();
                double[] sy = a.history().stages.stream().mapToDouble(st -> lossBefore(pts, st.stage().step())).toArray();
                XYSeries ss = chart.addSeries(a.name() + " FF stages", sx, sy);
                ss.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                ss.setMarker(SeriesMarkers.DIAMOND);
            }
        }
        double[] xs = {0, r.arms().stream().flatMap(a -> a.history().points.stream()).mapToDouble(x).max().orElse(1)};
        XYSeries t = chart.addSeries("target", xs, new double[]{r.target(), r.target()});
        t.setMarker(SeriesMarkers.NONE);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp.png");
        BitmapEncoder.saveBitmap(chart, tmp.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static double lossBefore(List<History.Point> pts, long step) {
        double l = pts.get(0).testLoss();
        for (History.Point p : pts) if (p.step() <= step) l = p.testLoss();
        return l;
    }
}
