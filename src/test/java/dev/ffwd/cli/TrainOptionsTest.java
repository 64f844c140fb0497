package dev.ffwd.cli;

import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.optim.AdamW;
import dev.ffwd.optim.ScheduleFree;
import dev.ffwd.train.Method;
import dev.ffwd.train.TrainConfig;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.FineTune;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI states no default of its own: every option left unset is the library's named default (the default method's optimizer and lr). */
class TrainOptionsTest {

    /** Without --lr and --optimizer, the tuning-free default method's optimizer and lr; everything else the library's default. */
    @Test
    void unsetOptionsAreTheLibraryDefaultsWithTheTuningFreeMethod() {
        TrainOptions opts = new TrainOptions();
        new CommandLine(opts).parseArgs("--model", "m", "--data", "d.jsonl", "--targets", "q_proj");
        Method m = Method.parse(Method.DEFAULT, FfConfig.defaults());
        FineTune.Options expected = FineTune.Options.builder("m", Path.of("d.jsonl"), LoraConfig.paper(List.of("q_proj")))
                .train(m.apply(TrainConfig.defaults())).build();
        assertEquals(expected, opts.options());
        assertEquals(m.ff(), opts.ff(false), "the default method's FF variant, if it has one, runs without --ff");
    }

    @Test
    void anLrAloneIsAdamWAndAnOptimizerAloneRunsAtItsPublishedDefault() {
        TrainOptions lr = new TrainOptions();
        new CommandLine(lr).parseArgs("--model", "m", "--data", "d.jsonl", "--targets", "q_proj", "--lr", "1e-3");
        assertEquals(AdamW.Spec.defaults(), lr.options().train().optimizer());
        assertEquals(1e-3, lr.options().train().lr());
        assertFalse(lr.ff(false).enabled());
        TrainOptions sf = new TrainOptions();
        new CommandLine(sf).parseArgs("--model", "m", "--data", "d.jsonl", "--targets", "q_proj", "--optimizer", "schedule-free");
        assertEquals(ScheduleFree.Spec.defaults(), sf.options().train().optimizer());
        assertEquals(ScheduleFree.Spec.LR, sf.options().train().lr());
        TrainOptions eps = new TrainOptions();
        new CommandLine(eps).parseArgs("--model", "m", "--data", "d.jsonl", "--targets", "q_proj", "--optimizer", "prodigy", "--adam-eps", "1e-6");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, eps::options);
        assertTrue(e.getMessage().contains("--adam-eps applies to adamw"), e.getMessage());
    }

    @Test
    void compareDefaultsAreThePlanDefaults() {
        CompareCommand c = new CompareCommand();
        new CommandLine(c).parseArgs("--data", "d.jsonl");
        Comparison.Plan expected = Comparison.Plan.builder("1e-4").build();
        assertEquals(List.of(expected.patience(), expected.repeats(), expected.ffLrs()), List.of(c.patience, c.repeats, c.ffLrs));
    }
}
