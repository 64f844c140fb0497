package dev.ffwd.train;

import dev.ffwd.data.Example;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.flops.Ledger;
import dev.ffwd.io.AtomicFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The training loop: optimizer steps, Fast Forward stages when enabled, periodic test loss, checkpoints,
 * and a stopping rule (step budget, a test-loss plateau, or a target test loss).
 */
public final class TrainingRun {

    public enum Stop { MAX_STEPS, PLATEAU, TARGET_REACHED, DIVERGED }

    /** Progress callbacks (the CLI draws progress bars from them). */
    public interface Listener {
        default void onStep(Trainer t, double trainLoss) {}
        default void onEval(History.Point p) {}
        default void onStage(FastForward.Stage s) {}
    }

    /**
     * When to stop early: after {@code patience} evaluations without a better test loss, or once the smoothed test
     * loss ({@link History#smoothed}) is at or below {@code target}.
     */
    public record StopRule(int patience, double minDelta, Double target) {
        /** An improvement smaller than this does not count against the patience. */
        public static final double MIN_DELTA = 1e-4;
        public static StopRule budget() { return new StopRule(0, 0, null); }
        public static StopRule plateau(int patience) { return new StopRule(patience, MIN_DELTA, null); }
        public static StopRule reach(double target) { return new StopRule(0, 0, target); }
    }

    private final Trainer trainer;
    private final FastForward ff;  // null: plain training
    private final List<Example> test, validation;
    private final double validationPass;  // exact FLOPs of one pass over the validation set, for FF's probe budget
    private final Path checkpoint;  // null: no checkpoints
    private final Map<String, String> fingerprint;  // what else the checkpoint records and a resume must match
    private final History history = new History();

    /**
     * {@code fingerprint}: what shaped this run besides the trainer's and Fast Forward's settings (model, data, splits:
     * {@link FineTune#fingerprint}); the checkpoint records it, and a resume under another is refused.
     */
    public TrainingRun(Trainer trainer, FastForward ff, List<Example> test, List<Example> validation, Path checkpoint,
                       Map<String, String> fingerprint) {
        this.fingerprint = Map.copyOf(fingerprint);
        this.trainer = trainer;
        this.ff = ff;
        this.test = test;
        this.validation = validation;
        this.validationPass = ff == null || validation.isEmpty() ? 0 : trainer.passFlops(validation);
        this.checkpoint = checkpoint;
    }

    /** Continues from {@link #checkpoint} if it exists (same trajectory as never stopping). */
    public boolean resume() {
        if (checkpoint == null || !Files.exists(checkpoint)) return false;
        try {
            AtomicFiles.removeStale(checkpoint);
        } catch (java.io.IOException e) {
            throw new dev.ffwd.FfwdException(checkpoint + ": cannot clean stale temporary files: " + e.getMessage());
        }
        Checkpoint.load(checkpoint, trainer, ff, history, fingerprint);
        return true;
    }

    public Stop run(StopRule rule, Listener listener) {
        TrainConfig cfg = trainer.config();
        if (history.points.isEmpty()) record(Double.NaN, listener);
        double lastTrain = Double.NaN;
        while (trainer.steps() < cfg.maxSteps()) {
            if (ff != null) chargeToFf(() -> {
                ff.beforeStep(trainer.steps(), trainer.params());
                return null;
            });
            lastTrain = trainer.step(ff == null ? 1 : ff.lrScale());  // after a resume too: the multiplier is in FF's state
            listener.onStep(trainer, lastTrain);
            if (ff != null) {
                Ledger l = trainer.ledger();
                FastForward.Spend spent = new FastForward.Spend(l.exact(Ledger.Phase.TRAIN), l.exact(Ledger.Phase.FF), validationPass);
                FastForward.Stage s = chargeToFf(() -> ff.afterStep(trainer.steps(), trainer.params(), new FastForward.Validation() {
                    public int size() {
                        return validation.size();
                    }

                    public FastForward.Probe over(int from, int to) {
                        return trainer.probe(validation.subList(from, to), Ledger.Phase.FF);
                    }
                }, spent));
                if (s != null) {
                    history.stages.add(new History.StageAt(s, l.flopsPaper(), l.flopsExact(), l.wallSeconds()));
                    listener.onStage(s);
                }
            }
            boolean evalNow = trainer.steps() % cfg.evalEvery() == 0 || trainer.steps() == cfg.maxSteps();
            Stop stop = null;
            if (evalNow) {
                record(lastTrain, listener);
                stop = check(rule);
            }
            if (checkpoint != null && (trainer.steps() % cfg.checkpointEvery() == 0 || stop != null
                    || trainer.steps() == cfg.maxSteps()))
                Checkpoint.save(checkpoint, trainer, ff, history, fingerprint);
            if (stop != null) return atModel(stop);
        }
        return atModel(Stop.MAX_STEPS);
    }

    /** The run is over (for now): the parameters hold the model's weights, for whatever the caller saves or measures. */
    private Stop atModel(Stop stop) {
        trainer.optimizer().useModelWeights(trainer.params());
        return stop;
    }

    /**
     * Runs Fast Forward bookkeeping and charges its wall time to the FF phase: snapshots, Δ and restores as well
     * as the validation passes (which charge their own FLOPs and seconds as they run).
     */
    private <T> T chargeToFf(java.util.function.Supplier<T> work) {
        Ledger l = trainer.ledger();
        double probes = l.seconds(Ledger.Phase.FF);
        long t0 = System.nanoTime();
        T result = onModelWeights(work);
        double bookkeeping = (System.nanoTime() - t0) / 1e9 - (l.seconds(Ledger.Phase.FF) - probes);
        l.add(Ledger.Phase.FF, 0, 0, bookkeeping);
        return result;
    }

    /**
     * Runs {@code work} with the model's weights in the parameters (Schedule-Free's x; the trained weights for other
     * optimizers): evaluation and Fast Forward see what a saved adapter would hold. The next step goes back.
     */
    private <T> T onModelWeights(java.util.function.Supplier<T> work) {
        trainer.optimizer().useModelWeights(trainer.params());
        return work.get();
    }

    private void record(double trainLoss, Listener listener) {
        Metrics m = onModelWeights(() -> trainer.metrics(test, Ledger.Phase.EVAL));
        double loss = m.loss();
        if (!Double.isFinite(loss))
            throw new Trainer.Diverged("test loss is " + loss + " after step " + trainer.steps()
                    + (checkpoint != null ? "; the last good checkpoint is kept at " + checkpoint : ""));
        Ledger l = trainer.ledger();
        Metrics.Classification c = m instanceof Metrics.Classification k ? k : null;
        History.Point p = new History.Point(trainer.steps(), l.flopsPaper(), l.flopsExact(), l.wallSeconds(), loss, trainLoss,
                c == null ? null : c.accuracy(), c == null ? null : c.macroF1());
        history.points.add(p);
        history.evalSeconds = l.seconds(Ledger.Phase.EVAL);
        listener.onEval(p);
    }

    private Stop check(StopRule rule) {
        List<History.Point> pts = history.points;
        if (rule.target() != null && history.smoothed(pts.size() - 1) <= rule.target()) return Stop.TARGET_REACHED;
        if (rule.patience() > 0 && pts.size() > rule.patience()) {
            double bestBefore = pts.subList(0, pts.size() - rule.patience()).stream()
                    .mapToDouble(History.Point::testLoss).min().orElseThrow();
            double recent = pts.subList(pts.size() - rule.patience(), pts.size()).stream()
                    .mapToDouble(History.Point::testLoss).min().orElseThrow();
            if (recent > bestBefore - rule.minDelta()) return Stop.PLATEAU;
        }
        return null;
    }

    public History history() {
        return history;
    }

    public Trainer trainer() {
        return trainer;
    }
}
