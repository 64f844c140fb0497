package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.RealData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A resumed suite loads the arms its comparisons finished (scripts/rerun-arms.sh relies on it) and runs only the missing ones. */
class SuiteResumeTest {

    @TempDir Path tmp;

    @Test
    void aResumedSuiteLoadsFinishedArmsAndRunsTheMissingOnes() throws IOException {
        RealData.file("spam-assassin.jsonl");
        Path out = tmp.resolve("suite"), arms = out.resolve("spam-assassin/seed-42/arms");
        String[] args = {"suite", "--quick", "--tasks", "spam-assassin", "--seeds", "1", "--out", out.toString(), "--limit", "150",
                "--max-length", "16", "--max-steps", "2", "--eval-every", "1", "--lr-grid", "1e-3,3e-3", "--methods", "none", "--modes", "none"};
        Cli.Result first = Cli.run(args);
        assertEquals(0, first.code(), first.err());
        JsonNode kept = walls(arms.resolve("baseline@1e-3.json"));
        // what scripts/rerun-arms.sh does: remove one arm and the comparison's report and plan, then resume
        for (String f : new String[]{"baseline@3e-3.json", "../report.json", "../report.md", "../plan.json"}) Files.delete(arms.resolve(f));
        String[] resumed = java.util.Arrays.copyOf(args, args.length + 1);
        resumed[args.length] = "--resume";
        Cli.Result r = Cli.run(resumed);
        assertEquals(0, r.code(), r.err());
        assertEquals(kept, walls(arms.resolve("baseline@1e-3.json")), "the finished arm was loaded, not run again");
        assertTrue(Files.isRegularFile(arms.resolve("baseline@3e-3.json")), "the removed arm ran again");
        assertTrue(Files.isRegularFile(out.resolve("spam-assassin/seed-42/report.json")));
    }

    /** The arm's measured wall times: a run again would measure others. */
    private static JsonNode walls(Path arm) throws IOException {
        JsonNode w = new ObjectMapper().readTree(arm.toFile()).path("walls");
        assertTrue(w.isArray() && !w.isEmpty(), arm + ": " + w);
        return w;
    }
}
