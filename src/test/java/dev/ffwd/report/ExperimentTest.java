package dev.ffwd.report;

import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.FineTune;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** An experiment is data: the same setup on another task keeps everything else, and its folder's plan guards a resume. */
class ExperimentTest {

    @TempDir Path tmp;

    Experiment experiment(Path dir, boolean resume) {
        FineTune.Options o = FineTune.Options.builder("builtin", tmp.resolve("a.jsonl"), LoraConfig.paper(List.of("query"))).format(Format.CLASSIFICATION).build();
        return new Experiment(o, Comparison.Plan.builder("1e-4").grid(List.of("1e-4", "1e-3")).variants(Map.of("ffwd", FfConfig.defaults()))
                .dir(dir).resume(resume).build());
    }

    @Test
    void onAnotherTaskKeepsTheRestOfTheSetup() {
        Experiment e = experiment(tmp.resolve("x"), false);
        Experiment t = e.on(tmp.resolve("b.jsonl"), Format.TEXT, 43, tmp.resolve("y"));
        assertEquals(tmp.resolve("b.jsonl"), t.options().data());
        assertEquals(Format.TEXT, t.options().format());
        assertEquals(43, t.options().train().seed());
        assertEquals(tmp.resolve("y"), t.plan().dir());
        assertEquals(e.options().lora(), t.options().lora());
        assertEquals(e.options().train().toBuilder().seed(43).build(), t.options().train());
        assertEquals(e.plan().in(tmp.resolve("y")), t.plan());
        assertEquals(e.configuration().without(List.of("data", "format", "train")), t.configuration().without(List.of("data", "format", "train")));
        assertEquals("adamw", e.configuration().path("train").path("optimizer").path("name").asText());
        assertEquals("1e-4", e.configuration().path("lr_text").asText());
        assertTrue(e.configuration().path("variants").path("ffwd").path("budget").asBoolean());
    }

    @Test
    void aResumeUnderAnotherPlanIsRefusedBeforeTheModelLoads() throws Exception {
        Path dir = tmp.resolve("x");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Experiment.PLAN), experiment(dir, true).on(tmp.resolve("a.jsonl"), Format.CLASSIFICATION, 7, dir)
                .configuration().toPrettyString());
        var err = assertThrows(dev.ffwd.FfwdException.class, () -> experiment(dir, true).run(ft -> () -> {}, new Comparison.Listener() {}));
        assertTrue(err.getMessage().contains("--resume with different settings (train differs)"), err.getMessage());
    }

    /** A resume may add FF modes, as it may add methods (more arms of the same plan); it may not drop or change one. */
    @Test
    void aResumeMayAddAnFfModeButNotDropOrChangeOne() throws Exception {
        Path dir = tmp.resolve("x");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Experiment.PLAN), experiment(dir, true).configuration().toPrettyString());
        FineTune.Options o = experiment(dir, true).options();
        java.util.function.Function<Map<String, FfConfig>, Experiment> with = v -> new Experiment(o,
                Comparison.Plan.builder("1e-4").grid(List.of("1e-4", "1e-3")).variants(v).dir(dir).resume(true).build());
        Experiment more = with.apply(Map.of("ffwd", FfConfig.defaults(), "paper", FfConfig.paper()));
        assertTrue(more.planText(more.configuration()).contains("\"paper\""), "an added mode is accepted");
        Experiment fewer = with.apply(Map.of("paper", FfConfig.paper()));
        var dropped = assertThrows(dev.ffwd.FfwdException.class, () -> fewer.planText(fewer.configuration()));
        assertTrue(dropped.getMessage().contains("--resume drops or changes the FF mode it ran (ffwd)"), dropped.getMessage());
        Experiment changed = with.apply(Map.of("ffwd", FfConfig.paper()));
        var err = assertThrows(dev.ffwd.FfwdException.class, () -> changed.planText(changed.configuration()));
        assertTrue(err.getMessage().contains("--resume drops or changes the FF mode it ran (ffwd)"), err.getMessage());
    }

    /** A resumed suite skips a comparison only where its folder holds a finished run of this very plan. */
    @Test
    void aFinishedRunIsOneOfThisPlanWithItsReport() throws Exception {
        Path dir = tmp.resolve("x");
        Files.createDirectories(dir);
        Experiment e = experiment(dir, true);
        Files.writeString(dir.resolve(Experiment.PLAN), e.configuration().toPrettyString());
        assertFalse(e.finishedIn(), "no report yet");
        var report = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        report.set("configuration", e.configuration().put(Experiment.PRECISION_USED, "fp32"));  // as Experiment.run records it
        Files.writeString(dir.resolve("report.json"), report.toPrettyString());
        assertTrue(e.finishedIn());
        Experiment more = new Experiment(e.options(), Comparison.Plan.builder("1e-4").grid(List.of("1e-4", "1e-3"))
                .variants(Map.of("ffwd", FfConfig.defaults())).reseeds(1).dir(dir).resume(true).build());
        assertFalse(more.finishedIn(), "a plan with more arms still has arms to run");
        // a resumed run killed after writing its extended plan: the report is still the shorter plan's
        Files.writeString(dir.resolve(Experiment.PLAN), more.configuration().toPrettyString());
        assertFalse(more.finishedIn(), "the report, not plan.json, says which plan finished");
        assertEquals(1, more.configuration().path("reseeds").asInt());
        assertFalse(e.configuration().has("reseeds"), "absent when none, so that plans written before match");
    }

    @Test
    void anExperimentIsRecordedInAFolder() {
        FineTune.Options o = experiment(tmp, false).options();
        assertThrows(IllegalArgumentException.class, () -> new Experiment(o, Comparison.Plan.builder("1e-4").build()));
    }
}
