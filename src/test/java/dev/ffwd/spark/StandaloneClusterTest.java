package dev.ffwd.spark;

import dev.ffwd.TestData;
import dev.ffwd.train.FineTune;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static dev.ffwd.spark.SparkTrainingTest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A real Spark standalone cluster: a master and two one-core workers as child JVMs on 127.0.0.1, each worker running an
 * executor JVM that loads the model itself. Training there must equal training in one process; then an executor JVM is
 * killed in the middle of every step's first attempt, and Spark's retries (on a fresh executor) must give the same result.
 */
class StandaloneClusterTest {

    @TempDir Path tmp;

    @Test
    void trainingOnTwoExecutorsEqualsOneProcessAndSurvivesExecutorDeaths() throws Exception {
        Path data = TestData.stories(tmp, 120, 7);
        Map<String, String> conf = new HashMap<>(LOOPBACK);
        conf.put("spark.executor.cores", "1");
        conf.put("spark.executor.memory", "1g");
        conf.put("spark.cores.max", "2");
        try (LocalCluster cluster = LocalCluster.start(2, 1, "1g", tmp.resolve("cluster"));
             FineTune ft = FineTune.prepare(TestData.tinyLlama(data, config(4), 0.1));
             Cluster c = Cluster.connect(cluster.masterUrl(), conf)) {
            c.awaitExecutors(2, 300);  // generous: executor JVMs start slowly on a loaded machine
            Trained one = train(ft, FF);
            assertClose(one, trainOn(c, ft, FF));

            FailedTasks failed = FailedTasks.on(c);
            c.injectFault("exit");
            Trained survived = trainOn(c, ft, FF);
            assertTrue(failed.count() >= 4, "expected a lost task in each of the 4 steps, saw " + failed.count());
            assertClose(one, survived);
        }
    }
}
