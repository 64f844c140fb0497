package dev.ffwd.cli;

import dev.ffwd.lora.LoraConfig;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.FineTune;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI states no default of its own: every option left unset is the library's named default. */
class TrainOptionsTest {

    @Test
    void unsetOptionsAreTheLibraryDefaults() {
        TrainOptions opts = new TrainOptions();
        new CommandLine(opts).parseArgs("--model", "m", "--data", "d.jsonl", "--targets", "q_proj");
        FineTune.Options expected = FineTune.Options.builder("m", Path.of("d.jsonl"), LoraConfig.paper(List.of("q_proj"))).build();
        assertEquals(expected, opts.options());
    }

    @Test
    void compareDefaultsAreThePlanDefaults() {
        CompareCommand c = new CompareCommand();
        new CommandLine(c).parseArgs("--data", "d.jsonl");
        Comparison.Plan expected = Comparison.Plan.builder("1e-4").build();
        assertEquals(List.of(expected.patience(), expected.repeats(), expected.ffLrs()), List.of(c.patience, c.repeats, c.ffLrs));
    }
}
