package dev.ffwd.flops;

import java.util.EnumMap;
import java.util.Map;

/**
 * Running cost of a run by phase: FLOPs under both conventions and wall-clock seconds.
 * The cost of a method is TRAIN + FF; EVAL (monitoring the test loss) is reported apart, as in the paper.
 */
public final class Ledger {

    public enum Phase { TRAIN, FF, EVAL }

    /** The cost charged to one phase so far. */
    public record Cost(double paper, double exact, double seconds) {
        static final Cost ZERO = new Cost(0, 0, 0);

        Cost plus(double paperFlops, double exactFlops, double secs) {
            return new Cost(paper + paperFlops, exact + exactFlops, seconds + secs);
        }
    }

    /** Values per phase in {@link #state()}: paper, exact, seconds. */
    private static final int PER_PHASE = 3;

    private final Map<Phase, Cost> cost = new EnumMap<>(Phase.class);

    public Ledger() {
        for (Phase p : Phase.values()) cost.put(p, Cost.ZERO);
    }

    public void add(Phase p, double paperFlops, double exactFlops, double seconds) {
        cost.put(p, cost.get(p).plus(paperFlops, exactFlops, seconds));
    }

    public double paper(Phase p) { return cost.get(p).paper(); }
    public double exact(Phase p) { return cost.get(p).exact(); }
    public double seconds(Phase p) { return cost.get(p).seconds(); }

    public double flopsPaper() { return paper(Phase.TRAIN) + paper(Phase.FF); }
    public double flopsExact() { return exact(Phase.TRAIN) + exact(Phase.FF); }
    public double wallSeconds() { return seconds(Phase.TRAIN) + seconds(Phase.FF); }

    /** The checkpoint state, flat as checkpoints store it: phase order × {paper, exact, seconds}. */
    public double[] state() {
        double[] a = new double[Phase.values().length * PER_PHASE];
        for (Phase p : Phase.values()) {
            Cost c = cost.get(p);
            a[p.ordinal() * PER_PHASE] = c.paper();
            a[p.ordinal() * PER_PHASE + 1] = c.exact();
            a[p.ordinal() * PER_PHASE + 2] = c.seconds();
        }
        return a;
    }

    /** Restores {@link #state()}. */
    public void restore(double[] a) {
        int n = Phase.values().length * PER_PHASE;
        if (a == null || a.length != n)
            throw new IllegalArgumentException("cost ledger has " + (a == null ? "no" : a.length) + " values, expected " + n);
        for (Phase p : Phase.values()) {
            int i = p.ordinal() * PER_PHASE;
            cost.put(p, new Cost(a[i], a[i + 1], a[i + 2]));
        }
    }
}
