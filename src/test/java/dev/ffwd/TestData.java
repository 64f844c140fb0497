package dev.ffwd;

import dev.ffwd.data.Format;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.optim.Schedule;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.TrainConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Small generated datasets in the fixtures' 96-word vocabulary, and ready-made fine-tuning setups. */
public final class TestData {

    private static final String[] WHO = {"the girl", "the boy", "a dog", "the cat", "a bird", "mom", "dad", "my friend"};
    private static final String[] DID = {"saw", "had", "went into", "came to", "ran to", "said hi to"};
    private static final String[] WHAT = {"the park", "a big tree", "the red ball", "the water", "a little toy", "the moon", "home"};
    private static final String[] HOW = {"happy", "sad", "very happy", "good"};

    private TestData() {}

    /** Stories with a learnable pattern: "once upon a time WHO DID WHAT . WHO was HOW ." */
    public static Path stories(Path dir, int n, long seed) throws IOException {
        Random r = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String who = pick(r, WHO);
            lines.add("{\"text\": \"once upon a time " + who + " " + pick(r, DID) + " " + pick(r, WHAT) + ". " + who + " was "
                    + pick(r, HOW) + ".\"}");
        }
        Path f = dir.resolve("stories.jsonl");
        Files.write(f, lines);
        return f;
    }

    private static String pick(Random r, String[] a) {
        return a[r.nextInt(a.length)];
    }

    public static TrainConfig config(long steps, double lr) {
        return TrainConfig.builder().lr(lr).batchSize(4).gradAccum(2).maxSteps(steps).evalEvery(2).evalBatchSize(16)
                .checkpointEvery(3).seed(7).build();
    }

    public static FineTune.Options tinyLlama(Path data, TrainConfig t, double dropout) {
        return FineTune.Options.builder(TinyModels.dir("tiny-llama").toString(), data,
                new LoraConfig(4, 8, dropout, List.of("q_proj", "v_proj"), false)).maxLength(32).train(t).testFraction(0.3)
                .validationSize(8).build();
    }
}
