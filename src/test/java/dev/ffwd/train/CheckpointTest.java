package dev.ffwd.train;

import dev.ffwd.FfwdException;
import dev.ffwd.TestData;
import dev.ffwd.fastforward.FfConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
