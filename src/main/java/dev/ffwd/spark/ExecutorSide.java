package dev.ffwd.spark;

import ai.djl.pytorch.jni.JniUtils;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Example;
import dev.ffwd.train.Replica;
import dev.ffwd.train.TrainConfig;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * What runs in an executor JVM. The frozen base model is loaded once per JVM (and per model and LoRA setting) and kept
 * across steps and runs; a task only overwrites the trainable tensors with the broadcast values. Tasks of one JVM take
 * turns on its replica: PyTorch's dropout generator is process-wide, so two tasks seeding it at once would mix their
 * masks. An executor therefore runs one task at a time with all its cores (intra-op threads = the task's CPUs); scale
 * out with more executors, not more task slots per executor.
 */
final class ExecutorSide {

    /**
     * Test hook: the local property that makes the first attempt of partition 0 fail after its first micro-batch,
     * "throw" (a task failure) or "exit" (the executor JVM dies); Spark must retry and the step must come out the same.
     */
    static final String FAULT = "ffwd.test.fault";

    private static final Map<Replica.Spec, Replica> REPLICAS = new ConcurrentHashMap<>();
    private static volatile boolean threadsSet;

    private ExecutorSide() {}

    /** One micro-batch of a step: its index in the step and its examples. */
    record Task(int index, List<Example> examples) implements java.io.Serializable {}

    /** The summed gradient of this partition's micro-batches (none: {@link Replica.Partial#NONE}). */
    static Replica.Partial gradient(Replica.Spec spec, TrainConfig cfg, List<String> names, long step, float[][] values,
                                    Iterator<Task> tasks) {
        List<Task> mine = new ArrayList<>();
        tasks.forEachRemaining(mine::add);
        if (mine.isEmpty()) return Replica.Partial.NONE;
        TaskContext tc = TaskContext.get();
        useTaskCores(tc);
        Replica r = REPLICAS.computeIfAbsent(spec, Replica::load);
        synchronized (r) {
            if (!r.names().equals(names))
                throw new FfwdException(spec.model() + ": the executor's trainable tensors " + r.names() + " differ from the driver's " + names);
            int[] index = mine.stream().mapToInt(Task::index).toArray();
            return r.gradient(cfg, step, values, index, mine.stream().map(Task::examples).toList(), faultHook(tc));
        }
    }

    /** In an executor JVM (not the driver's, in local mode), PyTorch uses as many threads as the task has CPUs. */
    private static void useTaskCores(TaskContext tc) {
        if (threadsSet || tc == null || SparkEnv.get() == null || "driver".equals(SparkEnv.get().executorId())) return;
        synchronized (ExecutorSide.class) {
            if (threadsSet) return;
            ai.djl.engine.Engine.getEngine("PyTorch");
            JniUtils.setNumThreads(Math.max(1, tc.cpus()));
            JniUtils.setNumInteropThreads(1);
            threadsSet = true;
        }
    }

    private static IntConsumer faultHook(TaskContext tc) {
        String fault = tc == null ? null : tc.getLocalProperty(FAULT);
        if (fault == null || tc.attemptNumber() > 0 || tc.partitionId() != 0) return k -> {};
        return k -> {
            if (k != 0) return;
            if (fault.equals("exit")) Runtime.getRuntime().halt(3);  // the executor dies mid-step
            throw new IllegalStateException("injected fault in attempt " + tc.attemptNumber() + " of partition 0");
        };
    }

    /** Frees the replicas of this JVM (the driver's, after a local-mode run). */
    static void clear() {
        REPLICAS.values().forEach(Replica::close);
        REPLICAS.clear();
    }
}
