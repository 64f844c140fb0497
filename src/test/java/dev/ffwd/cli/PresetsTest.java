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
        assertEquals(Path.of("o"), quick.out);
        CompareCommand demo = DemoCommand.compare(Presets.get("demo"), Path.of("d.jsonl"), List.of());
        assertEquals(Path.of("runs/demo"), demo.out);
        assertEquals(100, demo.opts.maxSteps);
        assertEquals(Method.compared(), demo.methods);
    }

    @Test
    void everyPresetKeyIsAnOptionOfCompare() {
        var options = new picocli.CommandLine(new CompareCommand()).getCommandSpec().options().stream()
                .map(o -> o.longestName().substring(2)).toList();
        for (Map.Entry<String, Map<String, String>> p : Presets.ALL.entrySet())
            for (String key : p.getValue().keySet()) assertTrue(options.contains(key), p.getKey() + ": " + key);
    }
}
