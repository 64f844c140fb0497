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
}
