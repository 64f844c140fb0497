package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code compare} end to end on the built-in MiniLM (no ../shared needed) and a generated two-class task: the grid,
 * the tuned target, the report fields that checks read, a diverging arm, and --resume.
 */
class CompareCommandTest {

    @TempDir Path tmp;

    static Path twoClasses(Path dir, int n) throws IOException {
        String[] good = {"great", "lovely", "wonderful", "happy", "excellent"}, bad = {"awful", "terrible", "sad", "horrible", "poor"};
        String[] filler = {"the", "movie", "was", "really", "a", "day", "and", "food"};
        Random r = new Random(3);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean pos = r.nextBoolean();
            String w = (pos ? good : bad)[r.nextInt(5)];
            lines.add("{\"text\": \"" + filler[r.nextInt(8)] + " " + w + " " + filler[r.nextInt(8)] + "\", \"label\": \"" + (pos ? "pos" : "neg") + "\"}");
        }
        Path f = dir.resolve("two.jsonl");
        Files.write(f, lines);
        return f;
    }

    List<String> args(Path data, Path out, String grid, String modes) {
        List<String> a = new ArrayList<>(List.of("compare", "--model", "builtin", "--data", data.toString(), "--format", "classification",
                "--max-length", "12", "--lora-r", "4", "--batch-size", "8", "--max-steps", "8", "--eval-every", "2",
                "--eval-batch-size", "64", "--test-fraction", "0.3", "--ff-val-size", "8", "--ff-interval", "2", "--patience", "2",
                "--lr", "1e-3", "--lr-grid", grid, "--modes", modes, "--out", out.toString()));
        return a;
    }

    /** A comparison refused on its input leaves neither OUT nor plan.json, so the corrected rerun needs no --overwrite. */
    @Test
    void aRefusedComparisonLeavesNoPlanBehind() throws Exception {
        Path bad = tmp.resolve("bad.jsonl"), out = tmp.resolve("refused");
        Files.writeString(bad, "{\"text\": \"only text\"}\n{\"text\": \"no labels\"}\n");
        BadInputTest.Outcome o = BadInputTest.ffwd(args(bad, out, "1e-3", "none").toArray(String[]::new));
        assertNotEquals(0, o.code());
        assertFalse(Files.exists(out), "nothing left: " + o.err());
        List<String> again = args(twoClasses(tmp, 60), out, "1e-3", "none");
        again.addAll(List.of("--methods", "none"));
        BadInputTest.Outcome ok = BadInputTest.ffwd(again.toArray(String[]::new));
        assertEquals(0, ok.code(), ok.err());
        assertTrue(Files.exists(out.resolve("plan.json")));
    }

    @Test
    void gridTunedTargetDivergedArmAndReportFields() throws Exception {
        Path data = twoClasses(tmp, 120), out = tmp.resolve("cmp");
        BadInputTest.Outcome o = BadInputTest.ffwd(args(data, out, "1e-3,3e-2,1e30", "ffwd,paper").toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        JsonNode r = new ObjectMapper().readTree(out.resolve("report.json").toFile());

        JsonNode baselines = r.path("baselines");
        assertEquals("adamw", r.path("configuration").path("train").path("optimizer").path("name").asText(), "the grid's optimizer, by name");
        assertEquals(List.of("1e-3", "3e-2", "1e30"), names(baselines), "baselines keyed by the lr as written");
        assertEquals("diverged", baselines.path("1e30").path("stop").asText(), "lr 1e30 diverges and is recorded, not fatal");
        assertTrue(baselines.path("1e30").has("error"));

        String tunedLr = r.path("tuned").path("lr").asText();
        double target = r.path("tuned").path("target_test_loss").asDouble(), threshold = r.path("tuned").path("threshold").asDouble();
        double lowest = Double.POSITIVE_INFINITY;
        for (String lr : List.of("1e-3", "3e-2")) lowest = Math.min(lowest, smoothedBest(baselines.path(lr)));
        assertEquals(lowest, target, 1e-12, "the tuned target is the lowest best 3-evaluation mean test loss over the grid");
        assertEquals(target, baselines.path(tunedLr).path("best_smoothed_test_loss").asDouble(), 0);
        assertEquals(target * 1.01, threshold, 1e-12);

        // the tuning-free methods compare runs by default: the default and the anchors, each from its own default lr
        JsonNode methods = r.path("methods");
        assertEquals(dev.ffwd.train.Method.compared(), names(methods));
        assertEquals(dev.ffwd.train.Method.DEFAULT, r.path("default_method").asText());
        double tunedCost = firstSmoothedAtOrBelow(baselines.path(tunedLr), threshold).path("flops_exact").asDouble();
        double grid = 0;
        for (String lr : names(baselines)) {
            JsonNode curve = baselines.path(lr).path("curve");
            if (!curve.isEmpty()) grid += curve.get(curve.size() - 1).path("flops_exact").asDouble();
        }
        for (String m : names(methods)) {
            JsonNode n = methods.path(m), at = r.path("tuned").path("learned").asBoolean() ? firstSmoothedAtOrBelow(r.path("arms").path(m), threshold) : null;
            assertEquals(at != null, n.path("reached").asBoolean(), m + " (an L* the grid did not learn is never reached)");
            assertTrue(n.has("final_test_loss") && n.has("flops_exact") && n.has("ratio_vs_tuned") && n.has("ratio_vs_grid"), m);
            if (at == null) continue;
            assertEquals(at.path("flops_exact").asDouble(), n.path("flops_exact").asDouble(), 0, m);
            assertEquals(at.path("flops_exact").asDouble() / tunedCost, n.path("ratio_vs_tuned").asDouble(), 1e-9, m);
            assertEquals(at.path("flops_exact").asDouble() / grid, n.path("ratio_vs_grid").asDouble(), 1e-9, m);
        }

        // how long the arms took: training (the curves' last wall time) and the test-loss passes that watched them
        double train = 0, eval = 0;
        for (JsonNode arm : r.path("arms")) {
            JsonNode curve = arm.path("curve");
            train += curve.isEmpty() ? 0 : curve.get(curve.size() - 1).path("wall_seconds").asDouble();
            assertTrue(arm.path("eval_seconds").asDouble() > 0, arm + ": every arm was evaluated at least at θ₀");
            eval += arm.path("eval_seconds").asDouble();
        }
        JsonNode took = r.path("measurement");
        assertEquals(r.path("arms").size(), took.path("arms").asInt());
        assertEquals(r.path("arms").size(), took.path("of").asInt());
        assertEquals(train, took.path("train_seconds").asDouble(), 1e-9);
        assertEquals(eval, took.path("eval_seconds").asDouble(), 1e-9);

        JsonNode vsTuned = r.path("savings_vs_tuned"), same = r.path("savings");
        List<String> ffArms = names(vsTuned);
        assertTrue(ffArms.contains("ff-ffwd@1e-3") && ffArms.contains("ff-paper@1e-3"), ffArms.toString());
        assertTrue(ffArms.contains("ff-ffwd@" + tunedLr), "FF also runs at the tuned lr: " + ffArms);
        for (String a : ffArms) {
            JsonNode s = vsTuned.path(a);
            assertTrue(s.has("reached") && s.has("lr"), a);
            for (String f : List.of("flops_paper_percent", "flops_exact_percent", "wall_percent"))
                assertEquals(s.path("reached").asBoolean(), s.has(f), a + ": a saving is given exactly when the target was reached");
            assertEquals(same.path(a).path("reached").asBoolean(), same.path(a).has("flops_paper_percent"), a);
            JsonNode arm = r.path("arms").path(a);
            if (s.path("reached").asBoolean())
                assertNotNull(firstSmoothedAtOrBelow(arm, threshold), a + " claims the tuned target without reaching it");
        }
        assertTrue(Files.isRegularFile(out.resolve("report.md")) && Files.isRegularFile(out.resolve("loss_vs_flops.png")));
        String md = Files.readString(out.resolve("report.md"));
        for (String a : ffArms)  // the loss along Δ at each stage, one plot per FF arm that ran stages, linked from the report
            if (r.path("arms").path(a).path("ff_stages").asInt() > 0)
                assertTrue(Files.isRegularFile(out.resolve("line_" + a + ".png")) && md.contains("(line_" + a + ".png)"), a);
        assertAccuracy(r, out);
    }

    /**
     * A classification comparison reports test accuracy beside test loss: on every evaluation of every arm, read at the
     * evaluation each summary names (best loss, tuned target, end), in report.md and in a plot.
     */
    static void assertAccuracy(JsonNode r, Path out) throws IOException {
        for (String name : names(r.path("arms"))) {
            JsonNode arm = r.path("arms").path(name), curve = arm.path("curve");
            double best = Double.NEGATIVE_INFINITY, bestLoss = Double.POSITIVE_INFINITY, atBestLoss = Double.NaN;
            for (JsonNode p : curve) {
                double acc = p.path("test_accuracy").asDouble(Double.NaN), f1 = p.path("macro_f1").asDouble(Double.NaN);
                assertTrue(acc >= 0 && acc <= 1 && f1 >= 0 && f1 <= 1, name + ": accuracy " + acc + ", macro-F1 " + f1 + " at step " + p.path("step"));
                best = Math.max(best, acc);
                if (p.path("test_loss").asDouble() < bestLoss) {
                    bestLoss = p.path("test_loss").asDouble();
                    atBestLoss = acc;
                }
            }
            if (curve.isEmpty()) continue;  // diverged before its first evaluation
            assertEquals(best, arm.path("best_test_accuracy").asDouble(), 0, name);
            assertEquals(atBestLoss, arm.path("test_accuracy_at_best_loss").asDouble(), 0, name);
            assertEquals(curve.get(curve.size() - 1).path("test_accuracy").asDouble(), arm.path("final_test_accuracy").asDouble(), 0, name);
        }
        double target = r.path("tuned").path("threshold").asDouble();
        assertEquals(firstAtOrBelow(r.path("baselines").path(r.path("tuned").path("lr").asText()), target),
                r.path("tuned").path("test_accuracy_at_target").asDouble(), 0, "the tuned baseline's accuracy where it reached the target");
        for (String a : names(r.path("savings_vs_tuned"))) {
            JsonNode s = r.path("savings_vs_tuned").path(a);
            assertEquals(s.path("reached").asBoolean(), s.has("test_accuracy"), a);
            if (s.path("reached").asBoolean())
                assertEquals(firstAtOrBelow(r.path("arms").path(a), target), s.path("test_accuracy").asDouble(), 0, a);
        }
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("test accuracy there") && md.contains("test accuracy: at tuned target / best"), md);
        assertTrue(md.contains("(accuracy_vs_flops.png)") && Files.size(out.resolve("accuracy_vs_flops.png")) > 0);
    }

    /** The test accuracy of an arm's first evaluation whose 3-evaluation mean test loss is at or below {@code threshold}. */
    static double firstAtOrBelow(JsonNode arm, double threshold) {
        JsonNode p = firstSmoothedAtOrBelow(arm, threshold);
        if (p == null) throw new AssertionError("never reached " + threshold);
        return p.path("test_accuracy").asDouble();
    }

    /** The first point of an arm's curve whose mean test loss over it and the two before is at or below {@code threshold}, or null. */
    static JsonNode firstSmoothedAtOrBelow(JsonNode arm, double threshold) {
        JsonNode c = arm.path("curve");
        for (int i = 2; i < c.size(); i++)
            if ((c.get(i).path("test_loss").asDouble() + c.get(i - 1).path("test_loss").asDouble() + c.get(i - 2).path("test_loss").asDouble()) / 3 <= threshold)
                return c.get(i);
        return null;
    }

    /** The lowest mean of three consecutive test losses on an arm's curve (+∞ with fewer than three). */
    static double smoothedBest(JsonNode arm) {
        JsonNode c = arm.path("curve");
        double best = Double.POSITIVE_INFINITY;
        for (int i = 2; i < c.size(); i++)
            best = Math.min(best, (c.get(i).path("test_loss").asDouble() + c.get(i - 1).path("test_loss").asDouble() + c.get(i - 2).path("test_loss").asDouble()) / 3);
        return best;
    }

    @Test
    void resumeLoadsFinishedArmsAndRefusesOtherSettings() throws Exception {
        Path data = twoClasses(tmp, 120), out = tmp.resolve("cmp");
        List<String> a = args(data, out, "1e-3,3e-2", "ffwd");
        assertEquals(0, BadInputTest.ffwd(a.toArray(String[]::new)).code());
        Path arm = out.resolve("arms").resolve("baseline@3e-2.json");
        FileTime written = Files.getLastModifiedTime(arm);
        Files.delete(out.resolve("report.json"));
        Thread.sleep(20);
        List<String> again = new ArrayList<>(a);
        again.add("--resume");
        BadInputTest.Outcome o = BadInputTest.ffwd(again.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        assertEquals(written, Files.getLastModifiedTime(arm), "a finished arm is loaded, not re-run");
        assertTrue(Files.isRegularFile(out.resolve("report.json")));

        List<String> other = new ArrayList<>(again);
        other.set(other.indexOf("--patience") + 1, "5");
        BadInputTest.assertCleanError(BadInputTest.ffwd(other.toArray(String[]::new)), "plan.json", "patience");
    }

    /**
     * A resume may add arms (a method, re-runs of the tuned lr on fresh seeds): the finished arms are loaded and only the
     * new ones run. It may not drop a method it ran.
     */
    @Test
    void aResumeMayAddMethodsAndReseededTunedRunsButNotDropMethods() throws Exception {
        Path data = twoClasses(tmp, 120), out = tmp.resolve("cmp");
        List<String> a = args(data, out, "1e-3,3e-2", "none");
        a.addAll(List.of("--methods", "schedule-free"));
        assertEquals(0, BadInputTest.ffwd(a.toArray(String[]::new)).code());
        Path arm = out.resolve("arms").resolve("baseline@1e-3.json");
        FileTime written = Files.getLastModifiedTime(arm);
        Thread.sleep(20);
        List<String> more = new ArrayList<>(a);
        more.set(more.indexOf("--methods") + 1, "schedule-free,prodigy");
        more.addAll(List.of("--reseeds", "1", "--resume"));
        BadInputTest.Outcome o = BadInputTest.ffwd(more.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        assertEquals(written, Files.getLastModifiedTime(arm), "a finished arm is loaded, not re-run");
        JsonNode r = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertEquals(List.of("schedule-free", "prodigy"), names(r.path("methods")));
        String tuned = r.path("tuned").path("lr").asText(), name = "reseed-1042@" + tuned;
        assertEquals(List.of(name), names(r.path("tuned").path("reseeded")), "seed 42 + 1000, at the tuned lr");
        JsonNode line = r.path("tuned").path("reseeded").path(name);
        for (String field : List.of("reached", "ratio_vs_tuned", "best_smoothed_test_loss", "stop")) assertTrue(line.has(field), field + ": " + line);
        assertNotEquals(r.path("arms").path("baseline@" + tuned).path("curve"), r.path("arms").path(name).path("curve"),
                "a fresh seed: another initialisation and data order");
        assertTrue(Files.readString(out.resolve("report.md")).contains("at the tuned lr " + tuned + ", fresh seed (" + name + ")"));

        List<String> fewer = new ArrayList<>(more);
        fewer.set(fewer.indexOf("--methods") + 1, "prodigy");
        BadInputTest.assertCleanError(BadInputTest.ffwd(fewer.toArray(String[]::new)), "plan.json", "schedule-free");
    }

    static List<String> names(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
