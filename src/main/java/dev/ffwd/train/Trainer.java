package dev.ffwd.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Batch;
import dev.ffwd.data.Example;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.flops.FlopCounter;
import dev.ffwd.flops.Ledger;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;
import dev.ffwd.optim.Schedule;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Optimizer steps over a training set in a seeded order, evaluation, and cost accounting.
 * Everything a step depends on (data position, dropout seed, optimizer state) is derived from the step
 * count and the checkpointed state, so a resumed run repeats an uninterrupted one exactly.
 */
public final class Trainer {

    private final Objective objective;
    private final List<Param> params;
    private final Optimizer optimizer;
    private final Schedule schedule;
    private final TrainConfig cfg;
    private final List<Example> train;
    private final FlopCounter flops;
    private final NDManager manager;
    private Gradients gradients;
    private final Ledger ledger = new Ledger();
    private long step;    // optimizer steps done
    private long cursor;  // training examples consumed
    private long tokens;  // training tokens consumed (padding excluded)
    private long orderEpoch = -1;
    private List<Example> order;

    /** A trainer that computes its step gradients in this process; batches live in the objective's model's manager. */
    public Trainer(Objective objective, List<Param> params, Optimizer optimizer, TrainConfig cfg, List<Example> train, FlopCounter flops) {
        if (train.isEmpty()) throw new FfwdException("the training split is empty");
        this.objective = objective;
        this.params = List.copyOf(params);
        this.optimizer = optimizer;
        this.schedule = cfg.scheduleFor();
        this.cfg = cfg;
        this.train = train;
        this.flops = flops;
        this.manager = objective.model().manager();
        this.gradients = Gradients.local(objective, this.params, cfg, manager);
    }

    /** Later steps take their gradients from {@code g} (e.g. a cluster) instead of this process. */
    public Trainer gradientsFrom(Gradients g) {
        this.gradients = g;
        return this;
    }

    /** The loss was NaN or infinite; nothing was applied. */
    public static final class Diverged extends FfwdException {
        public Diverged(String message) {
            super(message);
        }
    }

    /**
     * One optimizer step over batchSize × gradAccum examples; returns the mean training loss. The gradient comes from
     * {@link #gradients} (this process, or a cluster); clipping, the optimizer and everything after run here.
     * {@code lrScale} multiplies the scheduled learning rate (Fast Forward's +lr; 1 otherwise).
     */
    public double step(double lrScale) {
        long t0 = System.nanoTime();
        double paper = 0, exact = 0;
        List<List<Example>> micros = new ArrayList<>(cfg.gradAccum());
        for (int micro = 0; micro < cfg.gradAccum(); micro++) {
            List<Example> ex = next(cfg.batchSize());
            for (Example e : ex) tokens += e.length();
            FlopCounter.Flops f = flops.trainStep(ex);
            paper += f.paper();
            exact += f.exact();
            micros.add(ex);
        }
        double norm, loss;
        optimizer.useTrainingWeights(params);  // gradients are taken where the optimizer says (Schedule-Free: y)
        try (NDScope ignored = new NDScope()) {
            Gradients.Sum g = gradients.sum(step, micros);
            if (!Double.isFinite(g.loss())) {
                Optimizer.zeroGrad(params);
                throw new Diverged("training loss is " + g.loss() + " at step " + (step + 1) + "; stopped before applying it");
            }
            norm = optimizer.step(params, g.grads(), schedule.lr(step) * lrScale);
            loss = g.loss();
        }
        Optimizer.zeroGrad(params);
        if (!Double.isFinite(norm))
            throw new Diverged("gradient norm is " + norm + " at step " + (step + 1) + "; stopped before applying it");
        step++;
        ledger.add(Ledger.Phase.TRAIN, paper, exact, (System.nanoTime() - t0) / 1e9);
        return loss;
    }

    /** Single-step convenience for tests and benchmarks: {@link #step(double)} at the scheduled lr. */
    public double step() {
        return step(1);
    }

    /** Mean loss over {@code set} without dropout or gradients, charged to {@code phase}. */
    public double evaluate(List<Example> set, Ledger.Phase phase) {
        return pass(set, phase, null, null).loss();
    }

    /** {@link #evaluate}'s loss and, from the same passes, each example's own summed loss (a Fast Forward probe). */
    public FastForward.Probe probe(List<Example> set, Ledger.Phase phase) {
        double[] rows = new double[set.size()];
        Pass p = pass(set, phase, null, rows);
        return new FastForward.Probe(p.loss(), rows, Math.max(p.count(), 1));
    }

    /**
     * The loss over {@code set} as {@link #evaluate} gives it and, from the same forward passes, accuracy and macro-F1
     * when the objective classifies ({@link Metrics.Classification}); else per-token loss and perplexity ({@link Metrics.Text}).
     */
    public Metrics metrics(List<Example> set, Ledger.Phase phase) {
        int[] predicted = new int[set.size()];
        Pass p = pass(set, phase, predicted, null);
        if (p.classes() > 0) return Metrics.classification(p.loss(), Metrics.gold(set), predicted, p.classes());
        return new Metrics.Text(set.size(), (long) p.count(), p.loss(), Math.exp(p.loss()));
    }

    /** {@code classes}: the objective's number of classes when it classifies (then {@code predicted} is filled), else 0. */
    private record Pass(double loss, double count, int classes) {}

    /**
     * {@code predicted} (classes) and {@code rows} (each example's summed loss), when not null, are filled in, in the
     * order of {@code set}. Batches take the examples shortest first, so that each is padded to about its own length
     * (a random test split in batches of 32 pads most rows to the longest of 32); only the order of summation changes.
     */
    private Pass pass(List<Example> set, Ledger.Phase phase, int[] predicted, double[] rows) {
        long t0 = System.nanoTime();
        double sum = 0, count = 0, fwd = 0;
        int classes = 0;
        for (int[] at : evalBatches(set)) {
            try (NDScope ignored = new NDScope()) {
                List<Example> part = java.util.Arrays.stream(at).mapToObj(set::get).toList();
                Batch b = Batch.of(part, manager);
                Objective.Loss l = objective.loss(b, false);
                sum += l.sum().getFloat();
                count += l.count().getFloat();
                fwd += flops.forward(part);
                if (rows != null) {
                    double[] r = l.rows().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
                    for (int j = 0; j < at.length; j++) rows[at[j]] = r[j];
                }
                if (predicted != null && l.classLogits() != null) {
                    classes = (int) l.classLogits().getShape().get(1);
                    long[] argmax = l.classLogits().argMax(1).toLongArray();  // [B]
                    for (int j = 0; j < argmax.length; j++) predicted[at[j]] = (int) argmax[j];
                }
            }
        }
        ledger.add(phase, fwd, fwd, (System.nanoTime() - t0) / 1e9);
        return new Pass(sum / Math.max(count, 1), count, classes);
    }

    /** The positions in {@code set} of each evaluation batch: shortest examples first, {@code evalBatchSize} at a time. */
    private List<int[]> evalBatches(List<Example> set) {
        int[] order = java.util.stream.IntStream.range(0, set.size()).boxed()
                .sorted(java.util.Comparator.comparingInt(i -> set.get(i).length())).mapToInt(Integer::intValue).toArray();
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < set.size(); i += cfg.evalBatchSize())
            out.add(java.util.Arrays.copyOfRange(order, i, Math.min(set.size(), i + cfg.evalBatchSize())));
        return out;
    }

    /** The exact FLOPs one {@link #evaluate} pass over {@code set} will cost, without running it. */
    public double passFlops(List<Example> set) {
        double fwd = 0;
        for (int[] at : evalBatches(set)) fwd += flops.forward(java.util.Arrays.stream(at).mapToObj(set::get).toList());
        return fwd;
    }

    /** The next n training examples; each epoch is a fresh seeded permutation. */
    private List<Example> next(int n) {
        List<Example> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++, cursor++) {
            long epoch = cursor / train.size();
            if (epoch != orderEpoch) {
                order = new ArrayList<>(train);
                Collections.shuffle(order, new Random(cfg.seed() * 31 + epoch));
                orderEpoch = epoch;
            }
            out.add(order.get((int) (cursor % train.size())));
        }
        return out;
    }

    /**
     * A checkpoint's copy of the trainer: position (steps, examples and tokens consumed), the trainable values by
     * parameter name, the optimizer's state and the cost ledger ({@link Ledger#state()}).
     */
    public record State(long step, long cursor, long tokens, Map<String, float[]> params, Optimizer.State optimizer, double[] ledger) {}

    public State state() {
        optimizer.useTrainingWeights(params);  // a checkpoint holds the point gradients are taken at
        Map<String, float[]> values = new LinkedHashMap<>();
        for (Param p : params) values.put(p.name(), p.toFloats());
        return new State(step, cursor, tokens, values, optimizer.state(), ledger.state());
    }

    /**
     * Continues from {@link #state()}: every trainable parameter must be there with its size (else the state was made
     * with other LoRA settings, and the one line says which parameter).
     */
    public void restore(State s) {
        for (Param p : params) {
            float[] v = s.params().get(p.name());
            if (v == null) throw new FfwdException("no values for parameter '" + p.name() + "'; was it made with other LoRA settings?");
            if (v.length != p.size()) throw new FfwdException("parameter '" + p.name() + "' has " + v.length + " values, expected " + p.size());
        }
        for (Param p : params) p.set(s.params().get(p.name()));
        optimizer.restore(s.optimizer(), params);
        ledger.restore(s.ledger());
        step = s.step();
        cursor = s.cursor();
        tokens = s.tokens();
    }

    public long steps() { return step; }
    public long tokens() { return tokens; }
    public Ledger ledger() { return ledger; }
    public List<Param> params() { return params; }
    public Optimizer optimizer() { return optimizer; }
    public TrainConfig config() { return cfg; }
}
