package dev.ffwd.train;

import dev.ffwd.fastforward.FastForward;

import java.util.ArrayList;
import java.util.List;

/** The curves of a run: test loss at each evaluation with the cost so far, and every Fast Forward stage. */
public final class History {

    /**
     * Cost is cumulative TRAIN + FF at the time of the evaluation. {@code accuracy} and {@code macroF1} are on the test
     * split for a classifier, and null for a language model (or in a file written before they were recorded).
     */
    public record Point(long step, double flopsPaper, double flopsExact, double wallSeconds, double testLoss, double trainLoss,
                        Double accuracy, Double macroF1) {
        /** An evaluation of a language model (no accuracy). */
        public static Point of(long step, double flopsPaper, double flopsExact, double wallSeconds, double testLoss, double trainLoss) {
            return new Point(step, flopsPaper, flopsExact, wallSeconds, testLoss, trainLoss, null, null);
        }
    }

    /** A stage with the cumulative cost at its end. */
    public record StageAt(FastForward.Stage stage, double flopsPaper, double flopsExact, double wallSeconds) {}

    public final List<Point> points = new ArrayList<>();
    public final List<StageAt> stages = new ArrayList<>();
    /**
     * Seconds spent in the test-loss evaluations that made {@link #points}: the cost of watching the run, charged to
     * no method, but part of how long a comparison takes (0 in a file written before it was recorded).
     */
    public double evalSeconds;

    /** Whether {@link #evalSeconds} was recorded: any evaluation takes time, so 0 after one means a file older than the record. */
    public boolean evalTimeRecorded() {
        return evalSeconds > 0 || points.isEmpty();
    }

    /** A checkpoint's copy of the curves. */
    public record State(List<Point> points, List<StageAt> stages) {
        public State {
            points = List.copyOf(points);
            stages = List.copyOf(stages);
        }
    }

    public State state() {
        return new State(points, stages);
    }

    /** Replaces the curves with those of {@link #state()}. */
    public void restore(State s) {
        points.clear();
        points.addAll(s.points());
        stages.clear();
        stages.addAll(s.stages());
    }

    /** The cumulative wall time at each evaluation. */
    public double[] wallSeconds() {
        return points.stream().mapToDouble(Point::wallSeconds).toArray();
    }

    public double bestTestLoss() {
        return points.stream().mapToDouble(Point::testLoss).min().orElse(Double.NaN);
    }

    public double lastTestLoss() {
        return points.isEmpty() ? Double.NaN : points.get(points.size() - 1).testLoss();
    }

    /** Whether the test accuracy was recorded (a classifier). */
    public boolean hasAccuracy() {
        return !points.isEmpty() && points.stream().allMatch(p -> p.accuracy() != null);
    }

    /** The highest test accuracy of any evaluation, or null where none was recorded. */
    public Double bestAccuracy() {
        return hasAccuracy() ? points.stream().mapToDouble(Point::accuracy).max().orElseThrow() : null;
    }

    /** The evaluation with the lowest test loss (the first of equals), or null before any. */
    public Point best() {
        return points.stream().min(java.util.Comparator.comparingDouble(Point::testLoss)).orElse(null);
    }

    /**
     * Evaluations the smoothed test loss averages over. One evaluation on a few hundred examples is noisy, so the
     * minimum of single evaluations is a lucky draw rather than a level a run holds; targets use the smoothed loss.
     */
    public static final int WINDOW = 3;

    /** The mean test loss of the {@link #WINDOW} evaluations ending at point {@code i} (NaN before there are as many). */
    public double smoothed(int i) {
        if (i < WINDOW - 1 || i >= points.size()) return Double.NaN;
        double sum = 0;
        for (int j = i - WINDOW + 1; j <= i; j++) sum += points.get(j).testLoss();
        return sum / WINDOW;
    }

    /** The lowest smoothed test loss of the run (NaN before {@link #WINDOW} evaluations). */
    public double bestSmoothed() {
        double best = Double.NaN;
        for (int i = WINDOW - 1; i < points.size(); i++) if (!(smoothed(i) >= best)) best = smoothed(i);
        return best;
    }

    /** The first point whose smoothed test loss is at or below {@code threshold}, or null. */
    public Point firstSmoothedAtOrBelow(double threshold) {
        for (int i = WINDOW - 1; i < points.size(); i++) if (smoothed(i) <= threshold) return points.get(i);
        return null;
    }

}
