package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.RealData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code suite --jobs 2} runs its comparisons in child JVMs side by side, and they come out as they do in one process. */
class SuiteWorkersTest {

    @TempDir Path tmp;

    private static final List<String> TINY = List.of("--quick", "--tasks", "spam-assassin,fortunes", "--seeds", "1", "--limit", "150",
            "--max-length", "16", "--max-steps", "3", "--eval-every", "1", "--lr-grid", "1e-3", "--lr", "1e-3", "--methods", "none",
            "--modes", "none", "--reseeds", "0");

    @Test
    void workersGiveTheComparisonsOneProcessGives() throws IOException {
        RealData.file("spam-assassin.jsonl");
        RealData.file("fortunes.jsonl");
        Path side = tmp.resolve("side"), alone = tmp.resolve("alone");
        Cli.Result r = Cli.run(args(side, "--jobs", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("2 comparisons, 2 at a time, 1 compute thread each"), r.err());
        for (String log : new String[]{"spam-assassin-seed-42.log", "fortunes-seed-42.log"})
            assertTrue(Files.size(side.resolve("logs").resolve(log)) > 0, "each worker's output is kept: " + log);
        Cli.Result one = Cli.run(args(alone, "--jobs", "1"));
        assertEquals(0, one.code(), one.err());
        for (String task : new String[]{"spam-assassin", "fortunes"}) {
            JsonNode a = curve(side, task), b = curve(alone, task);
            assertEquals(a.size(), b.size(), task);
            for (int i = 0; i < a.size(); i++)  // one compute thread against the default: the same up to summation order
                assertEquals(b.get(i).path("test_loss").asDouble(), a.get(i).path("test_loss").asDouble(), 1e-4 * b.get(i).path("test_loss").asDouble(), task + " evaluation " + i);
        }
        JsonNode suite = new ObjectMapper().readTree(side.resolve("report.json").toFile());
        assertEquals(List.of("spam-assassin", "fortunes"), iterable(suite.path("tasks").fieldNames()), "the suite's report covers every worker's comparison");
        assertTrue(suite.path("command").asText().startsWith("./ffwd suite --quick --seeds 1"), suite.path("command").asText());
    }

    @Test
    void aCaseOutsideTheSuiteIsRefused() {
        RealData.file("spam-assassin.jsonl");
        Cli.Result r = Cli.run(args(tmp.resolve("x"), "--case", "spam-assassin:7"));
        assertEquals(Main.BAD_INPUT, r.code());
        assertTrue(r.err().contains("--case spam-assassin:7: not one of this suite's comparisons"), r.err());
    }

    private static String[] args(Path out, String... more) {
        java.util.ArrayList<String> a = new java.util.ArrayList<>(List.of("suite", "--out", out.toString()));
        a.addAll(TINY);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static JsonNode curve(Path suite, String task) throws IOException {
        JsonNode c = new ObjectMapper().readTree(suite.resolve(task).resolve("seed-42/report.json").toFile()).path("baselines").path("1e-3").path("curve");
        assertTrue(c.isArray() && c.size() >= 3, task + ": " + c);
        return c;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new java.util.ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }
}
