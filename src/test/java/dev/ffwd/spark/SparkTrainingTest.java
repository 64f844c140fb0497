package dev.ffwd.spark;

import dev.ffwd.SharedFixtures;
import dev.ffwd.TestData;
import dev.ffwd.bench.BenchModel;
import dev.ffwd.data.Format;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.lora.LoraConfig;
import dev.ffwd.optim.Param;
import dev.ffwd.optim.Schedule;
import dev.ffwd.train.FineTune;
import dev.ffwd.train.History;
import dev.ffwd.train.TrainConfig;
import dev.ffwd.train.TrainingRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Data-parallel training on Spark's local[2] master (two task threads, one JVM) against the same training in one
 * process: same global batch, seed, dropout and Fast Forward stages, so the adapters must agree up to float reordering.
 */
class SparkTrainingTest {

    static final double TOLERANCE = 1e-4;
    static final Map<String, String> LOOPBACK = Map.of("spark.driver.host", "127.0.0.1", "spark.driver.bindAddress", "127.0.0.1");

    @TempDir Path tmp;

    /** 4 micro-batches of 3 per step (two per partition), dropout 0.1, and a Fast Forward stage every 3 steps. */
    static TrainConfig config(long steps) {
        return TrainConfig.builder().lr(2e-3).batchSize(3).gradAccum(4).maxSteps(steps).evalEvery(3).evalBatchSize(16)
                .checkpointEvery(2).seed(11).build();
    }

    static final FfConfig FF = FfConfig.paper().withInterval(3).withMaxRepeats(20);

    @Test
    void localTwoEqualsOneProcessOnTheTinyLlamaFixture() throws Exception {
        Path data = TestData.stories(tmp, 120, 5);
        compare(TestData.tinyLlama(data, config(7), 0.1), FF, "local[2]");
    }

    /** The learning-rate-free optimizers (their global sums included) give the same adapter from a cluster's summed gradients. */
    @Test
    void everyLrFreeOptimizerOnLocalTwoEqualsOneProcess() throws Exception {
        Path data = TestData.stories(tmp, 120, 5);
        for (String name : List.of("prodigy", "schedule-free", "dadapt-adam")) {
            dev.ffwd.optim.OptimizerSpec o = dev.ffwd.optim.OptimizerSpec.parse(name);
            compare(TestData.tinyLlama(data, config(12).toBuilder().optimizer(o).lr(o.defaultLr()).build(), 0.1), FF, "local[2]");  // Prodigy needs ~10 steps to move d up from d0
        }
    }

    /** The driver's memory settings (a loss chunk of 5 positions, activation checkpointing) reach the executors' replicas. */
    @Test
    void localTwoWithCheckpointingAndALossChunkEqualsOneProcess() throws Exception {
        Path data = TestData.stories(tmp, 120, 7);
        TrainConfig c = config(4);
        TrainConfig memory = c.toBuilder().memory(new TrainConfig.Memory(5, true)).build();
        compare(TestData.tinyLlama(data, memory, 0.1), FF, "local[2]");
    }

    @Test
    void aTaskThatFailsMidStepIsRetriedAndTheResultIsUnchanged() throws Exception {
        Path data = TestData.stories(tmp, 120, 6);
        try (FineTune ft = FineTune.prepare(TestData.tinyLlama(data, config(4), 0.1));
             Cluster c = Cluster.connect("local[2,3]", LOOPBACK)) {  // local[N,F]: up to F attempts per task
            Trained one = train(ft, FF);
            FailedTasks failed = FailedTasks.on(c);
            c.injectFault("throw");
            Trained retried = trainOn(c, ft, FF);
            assertEquals(4, failed.count(), "one failed first attempt per step");
            assertClose(one, retried);
        }
    }

    /** Counts tasks that ended in failure (and were therefore retried, or the job would have failed). */
    static final class FailedTasks extends org.apache.spark.scheduler.SparkListener {
        private final java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();

        static FailedTasks on(Cluster c) {
            FailedTasks f = new FailedTasks();
            c.context().sc().addSparkListener(f);
            return f;
        }

        @Override
        public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
            if (e.taskInfo().failed()) n.incrementAndGet();
        }

        int count() {
            return n.get();
        }
    }

    @Test
    void localTwoEqualsOneProcessOnAGeneratedClassifier() throws Exception {
        Path model = generatedModel(tmp.resolve("tiny-neox"));
        Path data = tmp.resolve("moods.jsonl");
        Random r = new Random(3);
        List<String> lines = new ArrayList<>();
        String[] who = {"the girl", "the boy", "a dog", "the cat"}, how = {"happy", "sad", "good"};
        for (int i = 0; i < 90; i++) {
            String h = how[r.nextInt(how.length)];
            lines.add("{\"text\": \"once upon a time " + who[r.nextInt(who.length)] + " was " + h + ".\", \"label\": \"" + h + "\"}");
        }
        Files.write(data, lines);
        FineTune.Options o = FineTune.Options.builder(model.toString(), data,
                new LoraConfig(4, 8, 0.1, List.of("query_key_value", "dense_4h_to_h"), false)).format(Format.CLASSIFICATION)
                .maxLength(24).train(config(5)).testFraction(0.3).validationSize(8).build();
        compare(o, FF.withParams(FfConfig.Params.ALL), "local[2]");
    }

    /**
     * A GPT-NeoX of the fixtures' vocabulary with seeded random weights (the benchmark writer), and the tiny-gpt-neox
     * fixture's tokenizer.
     */
    static Path generatedModel(Path dir) throws Exception {
        Files.createDirectories(dir);
        dev.ffwd.model.RandomCheckpoint.write(dir, """
                {"model_type": "gpt_neox", "vocab_size": 96, "hidden_size": 24, "num_attention_heads": 2,
                 "num_hidden_layers": 2, "intermediate_size": 48, "rotary_pct": 0.5, "rotary_emb_base": 10000,
                 "layer_norm_eps": 1e-5, "use_parallel_residual": true, "hidden_act": "gelu", "max_position_embeddings": 64,
                 "tie_word_embeddings": false}""", 9);
        Files.copy(dev.ffwd.TinyModels.dir("tiny-gpt-neox").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        return dir;
    }

    /** Trains once in this process and once on {@code master}; the trained tensors must agree within {@link #TOLERANCE}. */
    static void compare(FineTune.Options o, FfConfig ff, String master) {
        try (FineTune ft = FineTune.prepare(o); Cluster c = Cluster.connect(master, LOOPBACK)) {
            assertClose(train(ft, ff), trainOn(c, ft, ff));
        }
    }

    /** A run of {@code ft} with its step gradients computed on {@code c}. */
    static Trained trainOn(Cluster c, FineTune ft, FfConfig ff) {
        ft.distribute(c.gradients());
        try {
            return train(ft, ff);
        } finally {
            ft.distribute(null);
        }
    }

    record Trained(List<float[]> initial, List<float[]> values, History history) {}

    static Trained train(FineTune ft, FfConfig ff) {
        TrainingRun run = ft.newRun(ff, null);
        List<float[]> initial = run.trainer().params().stream().map(Param::toFloats).toList();
        run.run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
        return new Trained(initial, run.trainer().params().stream().map(Param::toFloats).toList(), run.history());
    }

    static void assertClose(Trained a, Trained b) {
        assertEquals(a.values().size(), b.values().size());
        double max = 0, moved = 0;
        for (int i = 0; i < a.values().size(); i++) {
            float[] x = a.values().get(i), y = b.values().get(i);
            assertEquals(x.length, y.length);
            for (int j = 0; j < x.length; j++) {
                max = Math.max(max, Math.abs(x[j] - y[j]));
                moved = Math.max(moved, Math.abs(x[j] - a.initial().get(i)[j]));
            }
        }
        System.err.printf("spark vs one process: max |Δ| = %.3g over %d tensors (training moved them by up to %.3g)%n",
                max, a.values().size(), moved);
        assertTrue(moved > 100 * TOLERANCE, "training barely moved the tensors (" + moved + "): the comparison would prove nothing");
        assertTrue(max <= TOLERANCE, "max |Δ| " + max + " > " + TOLERANCE);
        assertEquals(a.history().stages.size(), b.history().stages.size(), "Fast Forward stages");
        assertFalse(a.history().stages.isEmpty(), "no Fast Forward stage ran");
        for (int i = 0; i < a.history().points.size(); i++)
            assertEquals(a.history().points.get(i).testLoss(), b.history().points.get(i).testLoss(), 1e-4, "test loss at evaluation " + i);
    }
}
