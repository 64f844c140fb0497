package dev.ffwd.train;

import dev.ffwd.fastforward.FastForward;

import java.util.ArrayList;
import java.util.List;

/** The curves of a run: test loss at each evaluation with the cost so far, and every Fast Forward stage. */
public final class History {

    /** Cost is cumulative TRAIN + FF at the time of the evaluation. */
    public record Point(long step, double flopsPaper, double flopsExact, double wallSeconds, double testLoss, double trainLoss) {}

    /** A stage with the cumulative cost at its end. */
    public record StageAt(FastForward.Stage stage, double flopsPaper, double flopsExact, double wallSeconds) {}

    public final List<Point> points = new ArrayList<>();
    public final List<StageAt> stages = new ArrayList<>();

    public double bestTestLoss() {
        return points.stream().mapToDouble(Point::testLoss).min().orElse(Double.NaN);
    }

    public double lastTestLoss() {
        return points.isEmpty() ? Double.NaN : points.get(points.size() - 1).testLoss();
    }

    /** The first point whose test loss is at or below {@code target}, or null. */
    public Point firstAtOrBelow(double target) {
        return points.stream().filter(p -> p.testLoss() <= target).findFirst().orElse(null);
    }
}
