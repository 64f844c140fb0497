package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code suite --report-only} aggregates what a stopped suite finished, each task with its own seeds, and runs nothing. */
class SuiteReportOnlyTest {

    @TempDir Path tmp;

    @Test
    void aggregatesTheFinishedComparisonsOnly() throws Exception {
        ObjectMapper json = new ObjectMapper();
        for (String where : new String[]{"spam-assassin/seed-42", "spam-assassin/seed-43", "fortunes/seed-42"}) {
            ObjectNode r = json.createObjectNode().put("lr", "1e-4");
            r.putObject("tuned").put("lr", "1e-3").put("target_test_loss", 0.1).put("threshold", 0.101);
            r.putObject("configuration").putObject("train").put("seed", 42);
            r.putObject("baselines").putObject("1e-3").putArray("curve").addObject().put("test_loss", 0.7);
            r.putObject("methods").putObject("schedule-free").put("reached", true).put("final_test_loss", 0.1)
                    .put("ratio_vs_tuned", 0.9).put("ratio_vs_grid", 0.2).put("flops_exact", 1e12);
            Path f = tmp.resolve(where).resolve("report.json");
            Files.createDirectories(f.getParent());
            json.writeValue(f.toFile(), r);
        }
        Files.createDirectories(tmp.resolve("sotu-mlm/seed-42"));  // started, not finished: no report.json
        Cli.Result r = Cli.run("suite", "--quick", "--seeds", "2", "--report-only", "--out", tmp.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode suite = json.readTree(tmp.resolve("report.json").toFile());
        assertEquals(2, suite.path("tasks").path("spam-assassin").path("seeds").size());
        assertEquals(1, suite.path("tasks").path("fortunes").path("seeds").size());
        assertFalse(suite.path("tasks").has("sotu-mlm"), "an unfinished comparison is not reported");
        assertEquals(3, suite.path("methods").path("schedule-free").path("of").asInt());
        assertTrue(suite.path("command").asText().endsWith("--report-only"));
        assertFalse(Files.exists(tmp.resolve("sotu-party")), "nothing was run");
    }
}
