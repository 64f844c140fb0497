package dev.ffwd.cli;

import dev.ffwd.train.Method;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** One preset mechanism: demo and suite are named presets that a user option overrides, and each names real options. */
class PresetsTest {

    @Test
    void demoAndSuitePresetsBuildTheirCompareAndUserOptionsWin() {
        CompareCommand quick = DemoCommand.compare(Presets.get("suite-quick"), Path.of("d.jsonl"), List.of("--out", "o", "--patience", "9"));
        assertEquals(60, quick.opts.maxSteps);
        assertEquals(Method.MEASURED, quick.methods);
        assertEquals(List.of("ffwd"), quick.modes);
        assertEquals(List.of("tuned"), quick.ffLrs);
        assertEquals(9, quick.patience, "the user's option wins");
        assertEquals(5, quick.opts.evalEvery, "the quick suite keeps the cadence its kept results were measured at");
        assertEquals(1, quick.reseeds, "the quick suite, as the demo, re-runs the tuned lr on a fresh seed");
        assertEquals(Path.of("o"), quick.out);
        CompareCommand demo = DemoCommand.compare(Presets.get("demo"), Path.of("d.jsonl"), List.of());
        assertEquals(Path.of("runs/demo"), demo.out);
        assertEquals(100, demo.opts.maxSteps);
        assertEquals(10, demo.opts.evalEvery);
        assertEquals(3, demo.patience);
        assertEquals(1, demo.reseeds, "the demo shows whether the tuned lr itself reaches L* on a fresh seed");
        assertEquals(Method.compared(), demo.methods);
        assertEquals(List.of("ffwd", "ffwd-budget"), demo.modes, "the demo shows FF with and without its probe budget");
    }

    /** demo and suite read the user's options once, over their own preset: command line, then --config, then --preset. */
    @Test
    void aForwardingCommandsConfigFileAndPresetSitBetweenItsPresetAndTheCommandLine(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path yaml = tmp.resolve("c.yaml");
        java.nio.file.Files.writeString(yaml, "max-steps: 7\nlora-r: 4\n");
        Main.config = yaml;
        try {
            CompareCommand c = DemoCommand.compare(Presets.get("demo"), Path.of("d.jsonl"), List.of("--lora-r", "2", "--preset", "paper"));
            assertEquals(7, c.opts.maxSteps, "the config file over the demo's preset");
            assertEquals(2, c.opts.loraR, "the command line over the config file");
            assertEquals(512, c.opts.batchSize * c.opts.gradAccum, "--preset paper over the demo's preset");
            assertEquals(Path.of("d.jsonl"), c.opts.data);
        } finally {
            Main.config = null;
        }
        Main.config = tmp.resolve("bad.yaml");
        java.nio.file.Files.writeString(Main.config, "lora-rank: 4\n");
        try {
            var e = assertThrows(dev.ffwd.FfwdException.class, () -> DemoCommand.compare(Presets.get("demo"), Path.of("d.jsonl"), List.of()));
            assertTrue(e.getMessage().contains("unknown option 'lora-rank' for 'ffwd compare'"), e.getMessage());
        } finally {
            Main.config = null;
        }
    }

    @Test
    void aSuiteRefusesWhatItSetsForEachComparisonBeforeWritingAnything(@org.junit.jupiter.api.io.TempDir Path tmp) {
        for (String fixed : List.of("--seed", "--format", "--data")) {
            Cli.Result r = Cli.run("suite", "--quick", "--out", tmp.resolve("out").toString(), fixed, fixed.equals("--format") ? "text" : "1");
            assertEquals(Main.BAD_INPUT, r.code(), r.err());
            assertTrue(r.err().contains("suite sets " + fixed + " for each comparison"), r.err());
            assertFalse(java.nio.file.Files.exists(tmp.resolve("out")), "nothing written");
        }
    }

    @Test
    void everyPresetKeyIsAnOptionOfCompare() {
        var options = new picocli.CommandLine(new CompareCommand()).getCommandSpec().options().stream()
                .map(o -> o.longestName().substring(2)).toList();
        for (Map.Entry<String, Map<String, String>> p : Presets.ALL.entrySet())
            for (String key : p.getValue().keySet()) assertTrue(options.contains(key), p.getKey() + ": " + key);
    }
}
