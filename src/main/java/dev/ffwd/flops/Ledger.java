package dev.ffwd.flops;

import java.util.EnumMap;
import java.util.Map;

/**
 * Running cost of a run by phase: FLOPs under both conventions and wall-clock seconds.
 * The cost of a method is TRAIN + FF; EVAL (monitoring the test loss) is reported apart, as in the paper.
 */
public final class Ledger {

    public enum Phase { TRAIN, FF, EVAL }

    private final Map<Phase, double[]> cost = new EnumMap<>(Phase.class);  // {paper, exact, seconds}

    public Ledger() {
        for (Phase p : Phase.values()) cost.put(p, new double[3]);
    }

    public void add(Phase p, double paperFlops, double exactFlops, double seconds) {
        double[] c = cost.get(p);
        c[0] += paperFlops;
        c[1] += exactFlops;
        c[2] += seconds;
    }

    public double paper(Phase p) { return cost.get(p)[0]; }
    public double exact(Phase p) { return cost.get(p)[1]; }
    public double seconds(Phase p) { return cost.get(p)[2]; }

    public double flopsPaper() { return paper(Phase.TRAIN) + paper(Phase.FF); }
    public double flopsExact() { return exact(Phase.TRAIN) + exact(Phase.FF); }
    public double wallSeconds() { return seconds(Phase.TRAIN) + seconds(Phase.FF); }

    /** Flat copy for checkpoints: phase order × {paper, exact, seconds}. */
    public double[] toArray() {
        double[] a = new double[9];
        for (Phase p : Phase.values()) System.arraycopy(cost.get(p), 0, a, p.ordinal() * 3, 3);
        return a;
    }

    public void load(double[] a) {
        for (Phase p : Phase.values()) System.arraycopy(a, p.ordinal() * 3, cost.get(p), 0, 3);
    }
}
