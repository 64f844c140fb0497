package dev.ffwd.train;

import dev.ffwd.FfwdException;
import dev.ffwd.TestData;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointTest {

    @TempDir Path tmp;

    private record Other(String setting, TrainConfig train, FfConfig ff) {}

    @Test
    void resumeUnderOtherSettingsIsRefusedNamingTheSetting() throws Exception {
        Path data = TestData.stories(tmp, 60, 3), ckpt = tmp.resolve("ck.safetensors");
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, TestData.config(3, 5e-3), 0.0))) {
            TrainConfig t = ft.options.train();
            FfConfig ff = FfConfig.paper();
            ft.newRun(t, ff, ckpt).run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            assertTrue(Files.exists(ckpt));
            for (Other o : List.of(new Other("seed", t.toBuilder().seed(t.seed() + 1).build(), ff),
                    new Other("lr", t.toBuilder().lr(1e-3).build(), ff),
                    new Other("ff_mode", t, ff.withMode(FfConfig.Mode.SEARCH)), new Other("ff_mode", t, FfConfig.off()),
                    new Other("ff_interval", t, ff.withInterval(4)))) {
                TrainingRun run = ft.newRun(o.train(), o.ff(), ckpt);
                FfwdException e = assertThrows(FfwdException.class, run::resume, o.setting());
                assertTrue(e.getMessage().contains("written with " + o.setting() + " "), e.getMessage());
            }
            assertTrue(ft.newRun(t.toBuilder().maxSteps(6).build(), ff, ckpt).resume(), "a longer budget at a constant lr continues the run");
        }
    }

    @Test
    void eachComponentRestoresItsOwnStateAndRefusesAForeignOne() throws Exception {
        Path data = TestData.stories(tmp, 60, 3), ckpt = tmp.resolve("ck.safetensors");
        FineTune.Options o = TestData.tinyLlama(data, TestData.config(3, 5e-3), 0.0);
        Trainer.State saved;
        try (FineTune ft = FineTune.prepare(o)) {
            TrainingRun run = ft.newRun(FfConfig.paper(), ckpt);
            run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
            saved = run.trainer().state();
            TrainingRun again = ft.newRun(FfConfig.paper(), ckpt);
            assertTrue(again.resume());
            Trainer.State back = again.trainer().state();
            assertEquals(List.of(saved.step(), saved.cursor(), saved.tokens(), saved.optimizer().steps()),
                    List.of(back.step(), back.cursor(), back.tokens(), back.optimizer().steps()));
            assertArrayEquals(saved.ledger(), back.ledger());
            assertEquals(saved.params().keySet(), back.params().keySet());
            saved.params().forEach((k, v) -> assertArrayEquals(v, back.params().get(k), k));
            assertEquals(saved.optimizer().buffers().keySet(), back.optimizer().buffers().keySet());
            saved.optimizer().buffers().forEach((k, v) -> assertArrayEquals(v, back.optimizer().buffers().get(k), k));

            // an optimizer state with one buffer per parameter (SGD's) cannot continue AdamW
            Map<String, float[][]> one = new java.util.LinkedHashMap<>();
            saved.optimizer().buffers().forEach((k, v) -> one.put(k, new float[][]{v[0]}));
            Trainer.State sgd = new Trainer.State(saved.step(), saved.cursor(), saved.tokens(), saved.params(),
                    new dev.ffwd.optim.Optimizer.State(saved.optimizer().steps(), one, Map.of()), saved.ledger());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> again.trainer().restore(sgd));
            assertTrue(e.getMessage().contains("has 1 buffers, expected 2"), e.getMessage());
        }
        // other LoRA settings: the checkpoint's parameters do not fit, and the one line names the file and the parameter
        FineTune.Options rank2 = FineTune.Options.builder(o.model(), data, new LoraConfig(2, 8, 0.0, List.of("q_proj", "v_proj"), false))
                .maxLength(o.maxLength()).train(o.train()).testFraction(o.testFraction()).validationSize(o.validationSize()).build();
        try (FineTune ft = FineTune.prepare(rank2)) {
            FfwdException e = assertThrows(FfwdException.class, () -> ft.newRun(FfConfig.paper(), ckpt).resume());
            assertTrue(e.getMessage().startsWith(ckpt + ": checkpoint was written with lora_r 4, this run has lora_r 2"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
        }
    }

    /**
     * The checkpoint's fingerprint: a resume with another model (one config value changed), data file, encoding,
     * adapter or split setting is refused, naming the setting and both values; the same options resume.
     */
    @Test
    void resumeWithAnotherModelDataAdapterOrSplitIsRefusedNamingIt() throws Exception {
        Path data = TestData.stories(tmp, 60, 3), ckpt = tmp.resolve("ck.safetensors");
        FineTune.Options o = TestData.tinyLlama(data, TestData.config(3, 5e-3), 0.0);
        try (FineTune ft = FineTune.prepare(o)) {
            ft.newRun(FfConfig.paper(), ckpt).run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
        }
        Path model = tmp.resolve("other-model");
        Files.createDirectories(model);
        try (var files = Files.list(Path.of(o.model()))) {
            for (Path f : files.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        String config = Files.readString(model.resolve("config.json"));
        Files.writeString(model.resolve("config.json"), config.replaceFirst("\\{", "{\"rope_theta\": 5000.0, "));
        Path otherData = TestData.stories(Files.createDirectories(tmp.resolve("d2")), 60, 4);
        LoraConfig l = o.lora();
        Map<String, FineTune.Options> others = new java.util.LinkedHashMap<>();
        others.put("model_digest", FineTune.Options.builder(model.toString(), data, l).maxLength(o.maxLength()).train(o.train())
                .testFraction(o.testFraction()).validationSize(o.validationSize()).build());
        others.put("data_digest", FineTune.Options.builder(o.model(), otherData, l).maxLength(o.maxLength()).train(o.train())
                .testFraction(o.testFraction()).validationSize(o.validationSize()).build());
        others.put("max_length", o.toBuilder().maxLength(24).build());
        others.put("limit", o.toBuilder().limit(50).build());
        others.put("lora_alpha", FineTune.Options.builder(o.model(), data, new LoraConfig(4, 16, 0.0, l.targets(), false))
                .maxLength(o.maxLength()).train(o.train()).testFraction(o.testFraction()).validationSize(o.validationSize()).build());
        others.put("lora_dropout", TestData.tinyLlama(data, o.train(), 0.1));
        others.put("test_fraction", o.toBuilder().testFraction(0.2).build());
        others.put("validation_size", o.toBuilder().validationSize(4).build());
        for (var e : others.entrySet())
            try (FineTune ft = FineTune.prepare(e.getValue())) {
                FfwdException x = assertThrows(FfwdException.class, () -> ft.newRun(FfConfig.paper(), ckpt).resume(), e.getKey());
                assertTrue(x.getMessage().startsWith(ckpt + ": checkpoint was written with " + e.getKey() + " "), x.getMessage());
            }
        try (FineTune ft = FineTune.prepare(o)) {
            assertTrue(ft.newRun(FfConfig.paper(), ckpt).resume(), "the same options resume");
        }
    }
}
