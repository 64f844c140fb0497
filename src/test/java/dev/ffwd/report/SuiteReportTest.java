package dev.ffwd.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Medians and min–max over seeds, by role (variant at the main lr / at the tuned lr), only over seeds that reached. */
class SuiteReportTest {

    @TempDir Path tmp;
    final ObjectMapper json = new ObjectMapper();

    /**
     * A comparison report with one FF arm at the main lr (1e-4); the grid's tuned lr is {@code tunedLr}. A classification
     * report: the arm's test accuracy where it reached a target is 0.5 + saving/1000, the tuned baseline's 0.8.
     */
    Path report(String name, String tunedLr, Double sameExact, Double tunedExact) throws Exception {
        ObjectNode r = json.createObjectNode().put("lr", "1e-4");
        r.putObject("tuned").put("lr", tunedLr).put("target_test_loss", 0.1).put("test_accuracy_at_target", 0.8);
        r.putObject("configuration").putObject("train").put("seed", 42);
        r.putObject("baselines").putObject("1e-4").put("budget_cut", true);
        r.putObject("arms").putObject("ff-ffwd@1e-4").put("lr", "1e-4").put("variant", "ffwd");
        for (String c : SuiteReport.COMPARISONS) {
            Double v = c.equals("savings_vs_tuned") ? tunedExact : sameExact;
            ObjectNode s = r.putObject(c).putObject("ff-ffwd@1e-4").put("reached", v != null).put("lr", "1e-4");
            if (v != null) s.put("flops_exact_percent", v).put("flops_paper_percent", v).put("wall_percent", v)
                    .put("test_accuracy", 0.5 + v / 1000).put("reference_test_accuracy", 0.8);
        }
        Path f = tmp.resolve(name + ".json");
        json.writeValue(f.toFile(), r);
        return f;
    }

    /** A report with one line per method: {ratio vs tuned, or null where it never reached L*}; ratio vs grid = ratio / 4. */
    Path methodsReport(String name, Map<String, Double> ratios) throws Exception {
        return methodsReport(name, ratios, true);
    }

    /** {@code learned} false: the loss at θ₀ is within twice the slack of L*, so the grid learned nothing. */
    Path methodsReport(String name, Map<String, Double> ratios, boolean learned) throws Exception {
        ObjectNode r = json.createObjectNode().put("lr", "1e-4");
        r.putObject("tuned").put("lr", "1e-3").put("target_test_loss", 0.1).put("threshold", 0.101);
        r.putObject("configuration").putObject("train").put("seed", 42);
        r.putObject("baselines").putObject("1e-3").putArray("curve").addObject().put("test_loss", learned ? 0.7 : 0.101);
        ObjectNode m = r.putObject("methods");
        ratios.forEach((k, v) -> {
            ObjectNode n = m.putObject(k).put("reached", v != null).put("final_test_loss", 0.2).put("best_smoothed_test_loss", v != null ? 0.1 : 0.15);
            if (v != null) n.put("ratio_vs_tuned", v).put("ratio_vs_grid", v / 4).put("flops_exact", v * 1e12);
        });
        Path f = tmp.resolve(name + ".json");
        json.writeValue(f.toFile(), r);
        return f;
    }

    @Test
    void methodsAreAggregatedOverTheCasesThatReachedAndTheBestIsAmongThoseThatReachedNinetyPercent() throws Exception {
        Map<String, Double> c1 = new LinkedHashMap<>(), c2 = new LinkedHashMap<>(), c3 = new LinkedHashMap<>();
        c1.put("cheap-but-flaky", 0.5); c1.put("steady", 1.2); c1.put("never", null);
        c2.put("cheap-but-flaky", null); c2.put("steady", 1.0); c2.put("never", null);
        c3.put("cheap-but-flaky", 0.7); c3.put("steady", 1.4); c3.put("never", null);
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        reports.put("t", List.of(methodsReport("m1", c1), methodsReport("m2", c2), methodsReport("m3", c3),
                methodsReport("flat", Map.of("cheap-but-flaky", 0.1, "steady", 0.1, "never", 0.1), false)));
        JsonNode root = SuiteReport.json(reports, "./ffwd suite --quick");
        JsonNode flaky = root.path("methods").path("cheap-but-flaky"), steady = root.path("methods").path("steady");
        assertEquals(2, flaky.path("reached").asInt());
        assertEquals(0.6, flaky.path("ratio_vs_tuned").path("median").asDouble(), 1e-12, "median over the two that reached");
        assertEquals(1.2, steady.path("ratio_vs_tuned").path("median").asDouble(), 1e-12);
        assertEquals(0.3, steady.path("ratio_vs_grid").path("median").asDouble(), 1e-12);
        assertEquals(1.0, steady.path("reached_share").asDouble(), 0);
        assertEquals("steady", root.path("best_method").asText(), "2 of 3 is below 90%: the cheaper median does not count");
        assertEquals(dev.ffwd.train.Method.DEFAULT, root.path("default_method").asText());
        String md = SuiteReport.markdown(root);
        assertEquals(1.0, flaky.path("best_over_target").path("median").asDouble(), 1e-12, "its best over L* = 0.1 in all three learned cases");
        assertEquals(1.5, flaky.path("best_over_target").path("max").asDouble(), 1e-12, "where it missed it stayed at 0.15");
        assertTrue(md.contains("| steady | 3/3 | 1.20× [1.00, 1.40] | 0.30× [0.25, 0.35] | 1.000× [1.000, 1.000] |"), md);
        assertTrue(md.contains("| never | 0/3 | — | — | 1.500× [1.500, 1.500] |"), md);
        assertTrue(md.contains("| t | 1e-3, 1e-3, 1e-3, 1e-3 | 0.60× [0.50, 0.70] (2/3) |"), "per task, with the tuned lr of each seed: " + md);
        assertTrue(md.contains("Not learned within the budget (left out of the method and Fast Forward tables): t seed 42"), md);
        assertFalse(md.contains("Against the tuned baseline"), "no FF arms, no empty FF tables: " + md);
    }

    /** The tuned lr re-run on a fresh seed is a reference row: counted over the learned cases, never the measured best. */
    @Test
    void reseededTunedRunsAreAReferenceRowAndNoCandidate() throws Exception {
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        List<Path> files = new java.util.ArrayList<>();
        double[][] reseeds = {{0.9}, {}, {1.1}};  // ratio vs tuned of each re-run; an empty row: it missed L*
        for (int i = 0; i < reseeds.length; i++) {
            Path f = methodsReport("r" + i, Map.of("slow", 2.0));
            ObjectNode r = (ObjectNode) json.readTree(f.toFile());
            ObjectNode run = ((ObjectNode) r.path("tuned")).putObject("reseeded").putObject("reseed-1042@1e-3")
                    .put("reached", reseeds[i].length > 0).put("best_smoothed_test_loss", reseeds[i].length > 0 ? 0.1 : 0.12);
            if (reseeds[i].length > 0) run.put("ratio_vs_tuned", reseeds[i][0]).put("ratio_vs_grid", reseeds[i][0] / 4);
            // misses L* everywhere, at 1.15 × L*: closer than the re-drawn run's 1.2 in the second case only
            ((ObjectNode) r.path("methods")).putObject("near").put("reached", false).put("final_test_loss", 0.2).put("best_smoothed_test_loss", 0.115);
            json.writeValue(f.toFile(), r);
            files.add(f);
        }
        reports.put("t", files);
        JsonNode root = SuiteReport.json(reports, "./ffwd suite --quick --reseeds 1");
        JsonNode ref = root.path("reseeded");
        assertEquals(2, ref.path("reached").asInt());
        assertEquals(3, ref.path("of").asInt());
        assertEquals(1.0, ref.path("ratio_vs_tuned").path("median").asDouble(), 1e-12);
        assertEquals(1.2, ref.path("best_over_target").path("max").asDouble(), 1e-12);
        assertEquals("slow", root.path("best_method").asText(), "the reference needs the grid: never a default candidate");
        assertFalse(root.path("methods").has(SuiteReport.RESEEDED));
        JsonNode near = root.path("methods").path("near").path(SuiteReport.AS_CLOSE);
        assertEquals(1, near.path("cases").asInt(), "only where the re-drawn tuned run stayed further from L* (1.2) than it did (1.15)");
        assertEquals(3, near.path("of").asInt());
        assertEquals(3, root.path("methods").path("slow").path(SuiteReport.AS_CLOSE).path("cases").asInt(), "reaching L* is always as close");
        String md = SuiteReport.markdown(root);
        assertTrue(md.contains("| slow | 3/3 | 3/3 | 2.00× [2.00, 2.00] |"), md);
        assertTrue(md.contains("| near | 0/3 | 1/3 | — | — | 1.150× [1.150, 1.150] |"), md);
        assertTrue(md.contains("| *" + SuiteReport.RESEEDED + "* (needs the grid) | 2/3 | — | 1.00× [0.90, 1.10] | 0.25× [0.23, 0.28] | 1.000× [1.000, 1.200] |"), md);
        assertTrue(md.contains("| t | 1e-3, 1e-3, 1e-3 | 2.00× [2.00, 2.00] (3/3) | — (0/3) | 1.00× [0.90, 1.10] (2/3) |"), md);
    }

    @Test
    void aggregatesByRoleOverReachedSeedsOnly() throws Exception {
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        reports.put("a", List.of(report("a1", "1e-3", 80.0, 10.0), report("a2", "1e-3", 60.0, null), report("a3", "1e-4", 70.0, 30.0)));
        JsonNode root = SuiteReport.json(reports, "./ffwd suite --quick");
        JsonNode lr = root.path("overall").path("ffwd@lr");
        assertEquals(3, lr.path("savings").path("reached").asInt());
        assertEquals(70.0, lr.path("savings").path("flops_exact_percent").path("median").asDouble());
        assertEquals(60.0, lr.path("savings").path("flops_exact_percent").path("min").asDouble());
        assertEquals(80.0, lr.path("savings").path("flops_exact_percent").path("max").asDouble());
        JsonNode vsTuned = lr.path("savings_vs_tuned");
        assertEquals(2, vsTuned.path("reached").asInt());
        assertEquals(3, vsTuned.path("of").asInt());
        assertEquals(20.0, vsTuned.path("flops_exact_percent").path("median").asDouble(), 1e-12,
                "median of 10 and 30; the unreached seed is not counted as a number");
        JsonNode tuned = root.path("overall").path("ffwd@tuned");
        assertEquals(1, tuned.path("savings_vs_tuned").path("of").asInt(), "only in a3 is the arm's lr the tuned one");
        assertEquals(0.52, vsTuned.path("test_accuracy").path("median").asDouble(), 1e-12, "accuracy over the seeds that reached: 0.51, 0.53");
        assertEquals(0.8, vsTuned.path("reference_test_accuracy").path("max").asDouble(), 1e-12);
        assertEquals(0.8, root.path("tasks").path("a").path("seeds").get(0).path("tuned_test_accuracy").asDouble(), 0);
        String md = SuiteReport.markdown(root);
        assertTrue(md.contains("## Test accuracy at the tuned target"), md);
        assertTrue(md.contains("| a | 80.0% [80.0, 80.0] | 52.0% [51.0, 53.0] (2/3) |"), md);
        assertTrue(md.contains("20.0% [10.0, 30.0] (2/3)"), md);
        assertTrue(md.contains("Baselines cut by the step budget"), md);
        SuiteReport.write(tmp, reports, "./ffwd suite --quick");
        assertTrue(Files.readString(tmp.resolve("report.md")).contains("./ffwd suite --quick"));
    }

    /** A seed whose grid learned nothing has a lucky L*: its FF arms count neither as reached nor as missed. */
    @Test
    void anUnlearnedSeedIsLeftOutOfTheFastForwardTablesToo() throws Exception {
        Path learned = report("l", "1e-3", 5.0, -1.0), flat = report("f", "1e-3", 0.0, null);
        ObjectNode r = (ObjectNode) json.readTree(flat.toFile());
        ((ObjectNode) r.path("baselines")).putObject("1e-3").putArray("curve").addObject().put("test_loss", 0.101);  // θ₀ already at L*
        r.remove("savings_vs_grid");
        json.writeValue(flat.toFile(), r);
        r = (ObjectNode) json.readTree(learned.toFile());
        r.remove("savings_vs_grid");  // as an arm at the tuned lr has no saving against the grid
        json.writeValue(learned.toFile(), r);
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        reports.put("a", List.of(learned, flat));
        JsonNode root = SuiteReport.json(reports, "./ffwd suite --quick");
        JsonNode vsTuned = root.path("overall").path("ffwd@lr").path("savings_vs_tuned");
        assertEquals(1, vsTuned.path("of").asInt(), "the unlearned seed is not counted");
        assertEquals(1, vsTuned.path("reached").asInt());
        String md = SuiteReport.markdown(root);
        assertFalse(md.contains("Against the whole grid"), "no FF arm has a saving against the grid: no table of dashes");
        assertTrue(md.contains("Not learned within the budget (left out of the method and Fast Forward tables): a seed 42"), md);
        assertEquals(2, root.path("tasks").path("a").path("seeds").size(), "the seed itself is still listed");
    }

    @Test
    void theTimeLineSumsTheArmsThatRecordedTheirTimeAndSaysHowManyDidNot() throws Exception {
        Map<String, List<Path>> reports = new LinkedHashMap<>();
        Path a = methodsReport("timed-a", Map.of("m", 1.0)), b = methodsReport("timed-b", Map.of("m", 1.0));
        // a: two timed arms; b: one timed arm, one loaded from a file written before the record (0 s after evaluations), one null
        double[][] arms = {{900, 300}, {900, 300}};
        ObjectNode ra = (ObjectNode) json.readTree(a.toFile()), rb = (ObjectNode) json.readTree(b.toFile());
        for (int i = 0; i < arms.length; i++) timedArm(ra, "x" + i, arms[i][0], arms[i][1]);
        timedArm(rb, "timed", 1800, 1200);
        timedArm(rb, "old", 600, 0);
        timedArm(rb, "older", 600, Double.NaN);
        json.writeValue(a.toFile(), ra);
        json.writeValue(b.toFile(), rb);
        reports.put("t", List.of(a, b));
        JsonNode m = SuiteReport.json(reports, "./ffwd suite").path("measurement");
        assertEquals(3600, m.path("train_seconds").asDouble(), 0);
        assertEquals(1800, m.path("eval_seconds").asDouble(), 0);
        assertEquals(3, m.path("arms").asInt());
        assertEquals(5, m.path("of").asInt());
        String md = SuiteReport.markdown(SuiteReport.json(reports, "./ffwd suite"));
        assertTrue(md.contains("Time: 3 of the 5 arms (the others predate this record) trained for 60 min "
                + "(training and FF steps) and were evaluated for 30 min more (test-loss passes, 33% of their time)"), md);
        assertEquals("37 min", SuiteReport.duration(37 * 60));
        assertEquals("3.4 h", SuiteReport.duration(3.4 * 3600), "hours from two hours on");
        reports.put("t", List.of(methodsReport("untimed", Map.of("m", 1.0))));
        assertFalse(SuiteReport.markdown(SuiteReport.json(reports, "./ffwd suite")).contains("Time:"), "nothing recorded, no line");
    }

    /** An arm in {@code report} whose one evaluation came {@code train} s into training; {@code eval} NaN: no record. */
    private void timedArm(ObjectNode report, String name, double train, double eval) {
        ObjectNode arm = (report.has("arms") ? (ObjectNode) report.get("arms") : report.putObject("arms")).putObject(name);
        arm.putArray("curve").addObject().put("wall_seconds", train);
        if (Double.isNaN(eval)) arm.putNull("eval_seconds");
        else arm.put("eval_seconds", eval);
    }
}
