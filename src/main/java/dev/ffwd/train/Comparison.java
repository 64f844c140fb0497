package dev.ffwd.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The experiment a reviewer accepts. Plain AdamW LoRA is trained at every learning rate of a grid until its test loss
 * plateaus (or the step budget cuts it). L*, the <em>tuned target</em>, is the lowest over the grid of each run's best
 * smoothed test loss ({@link History#smoothed}: the mean of {@value History#WINDOW} evaluations), and a run has reached
 * it at its first evaluation whose smoothed loss is at or below the <em>threshold</em> L*·{@value #SLACK}; the tuned
 * baseline's cost is what its learning rate needed to get there. Each Fast Forward variant is then trained, from the
 * same θ₀, seed and data order, at the learning rates asked for, and each tuning-free {@link Method} from its own
 * default, until it reaches the threshold (or plateaus). FF arms are compared at equal test loss against the baseline at
 * their own learning rate (the paper's protocol), against the tuned baseline, and against the whole grid's cost;
 * methods by their exact FLOPs over the tuned run's and over the whole grid's.
 * <p>
 * The tuned run is the grid's best of several runs, each judged at its luckiest stretch of a noisy test loss, so L* is
 * a target that the tuned learning rate itself may miss on another draw. {@link Plan#reseeds} re-runs it that many times
 * with fresh training seeds (adapter and head initialisation, data order, dropout; the same split and test set), as
 * methods are run: how often these reach L*, and at what cost, is the most any single run can be expected to do.
 * <p>
 * Wall time: an untimed warm-up precedes the first arm, and with {@code repeats > 1} every arm is re-run to the same
 * step in alternating order; costs then carry the min and median wall time over the repeats. FLOPs do not vary.
 * A diverging arm is recorded as diverged and the others still run. With a directory, each finished arm is saved there
 * and a resumed comparison loads it instead of re-running it; an unfinished arm continues from its checkpoint.
 */
public final class Comparison {

    /** A run has reached a target loss L when its smoothed test loss is at or below L × SLACK. */
    public static final double SLACK = 1.01;

    /**
     * What to run. Learning rates are kept as written (they key the report). {@code ffLrs} may name {@code "lr"} (the
     * main learning rate) and {@code "tuned"} (the grid's best) as well as explicit values. {@code dir} null keeps
     * nothing on disk. Build one with {@link #builder}.
     */
    public record Plan(String lr, List<String> grid, List<String> ffLrs, Map<String, FfConfig> variants,
                       Map<String, Method> methods, int reseeds, int patience, int repeats, Path dir, boolean resume) {
        public static final List<String> FF_LRS = List.of("lr", "tuned");
        public static final int RESEEDS = 0;    // re-runs of the tuned learning rate with fresh training seeds
        public static final int PATIENCE = 3;   // evaluations without improvement before an arm stops
        public static final int REPEATS = 1;
        /** Re-run i of the tuned learning rate trains with seed + i × this: clear of the seeds a suite gives its comparisons. */
        public static final long RESEED_STRIDE = 1000;
        /**
         * The step budget of FF arms and methods, in multiples of the grid's: a run that is slower than the tuned one must
         * still be able to reach L* and show what it cost (the tuned run may reach it at the grid's last step).
         */
        public static final int ARM_BUDGET = 2;

        /** {@code lr} alone as the grid, the defaults above, and no Fast Forward variants until {@link Builder#variants} sets them. */
        public static Builder builder(String lr) {
            return new Builder(lr);
        }

        /** Named settings over the defaults of {@link Plan}; {@link #build()} validates them. */
        public static final class Builder {
            private final String lr;
            private List<String> grid;
            private List<String> ffLrs = FF_LRS;
            private Map<String, FfConfig> variants = Map.of();
            private Map<String, Method> methods = Map.of();
            private int reseeds = RESEEDS;
            private int patience = PATIENCE;
            private int repeats = REPEATS;
            private Path dir;
            private boolean resume;

            private Builder(String lr) {
                this.lr = lr;
                this.grid = List.of(lr);
            }

            public Builder grid(List<String> v) { grid = v; return this; }
            public Builder ffLrs(List<String> v) { ffLrs = v; return this; }
            public Builder variants(Map<String, FfConfig> v) { variants = v; return this; }
            public Builder methods(Map<String, Method> v) { methods = v; return this; }
            public Builder reseeds(int v) { reseeds = v; return this; }
            public Builder patience(int v) { patience = v; return this; }
            public Builder repeats(int v) { repeats = v; return this; }
            public Builder dir(Path v) { dir = v; return this; }
            public Builder resume(boolean v) { resume = v; return this; }

            public Plan build() {
                return new Plan(lr, grid, ffLrs, variants, methods, reseeds, patience, repeats, dir, resume);
            }
        }

        /** The same plan recorded in another folder. */
        public Plan in(Path dir) {
            return new Plan(lr, grid, ffLrs, variants, methods, reseeds, patience, repeats, dir, resume);
        }

        public Plan {
            if (grid.isEmpty()) throw new IllegalArgumentException("the learning-rate grid is empty");
            for (String g : grid) parseLr(g);
            parseLr(lr);
            if (patience < 1) throw new IllegalArgumentException("patience must be >= 1, got " + patience);
            if (reseeds < 0) throw new IllegalArgumentException("reseeds must be >= 0, got " + reseeds);
            if (repeats < 1) throw new IllegalArgumentException("repeats must be >= 1, got " + repeats);
            if (!grid.contains(lr)) {  // the same-lr baseline is always trained
                List<String> g = new ArrayList<>(List.of(lr));
                g.addAll(grid);
                grid = List.copyOf(g);
            }
            grid = List.copyOf(grid);
            ffLrs = List.copyOf(ffLrs);
            variants = new LinkedHashMap<>(variants);
            methods = new LinkedHashMap<>(methods);
        }
    }

    /**
     * Cost up to a point of a run: FLOPs (both conventions) and wall seconds, min and median over the repeats; with the
     * test accuracy of a classifier at that point ({@code accuracy}, null for a language model).
     */
    public record Cost(long step, double flopsPaper, double flopsExact, double wallMedian, double wallMin, Double accuracy) {}

    /**
     * A saving at equal test loss, in percent of the reference's cost; {@code reached} false means none is claimed:
     * the arm never got to the target, or the target is the loss at θ₀ (no baseline learned anything). For a
     * classifier that reached it, {@code accuracy} and {@code referenceAccuracy} are the test accuracies of the arm and
     * of the reference baseline where each first got to the target (null otherwise).
     */
    public record Saving(boolean reached, String lr, double flopsPaperPercent, double flopsExactPercent,
                         double wallPercent, double wallMinPercent, Double accuracy, Double referenceAccuracy) {
        static Saving notReached(String lr) {
            return new Saving(false, lr, Double.NaN, Double.NaN, Double.NaN, Double.NaN, null, null);
        }

        static Saving of(String lr, Cost ref, Cost arm) {
            return new Saving(true, lr, percent(ref.flopsPaper(), arm.flopsPaper()), percent(ref.flopsExact(), arm.flopsExact()),
                    percent(ref.wallMedian(), arm.wallMedian()), percent(ref.wallMin(), arm.wallMin()), arm.accuracy(), ref.accuracy());
        }

        private static double percent(double ref, double arm) {
            return 100 * (1 - arm / ref);
        }
    }

    /**
     * One run. {@code variant}: the Fast Forward variant it ran, by the name it was given ({@link #OFF} for none);
     * {@code ff} is null for a run without Fast Forward; {@code error} is set when it diverged. {@code walls[r][i]} is
     * the cumulative wall time at {@code history.points[i]} in repeat r (repeat 0 is the history itself).
     */
    public record Arm(String name, String variant, String lr, FfConfig ff, TrainingRun.Stop stop, String error, long steps,
                      History history, List<double[]> walls) {
        public static final String OFF = "off";

        public Arm {
            if (variant == null) variant = OFF;
        }

        /** A run that ended by {@code stop} without an exception, with the wall times of its history as repeat 0. */
        public static Arm finished(String name, String variant, String lr, FfConfig ff, TrainingRun.Stop stop, long steps, History history) {
            return new Arm(name, variant, lr, ff, stop, null, steps, history, List.of(history.wallSeconds()));
        }

        /** A run that diverged with {@code error} after {@code steps}. */
        public static Arm diverged(String name, String variant, String lr, FfConfig ff, String error, long steps, History history) {
            return new Arm(name, variant, lr, ff, TrainingRun.Stop.DIVERGED, error, steps, history, List.of(history.wallSeconds()));
        }

        /** This arm with the wall times of every repeat. */
        public Arm withWalls(List<double[]> repeats) {
            return new Arm(name, variant, lr, ff, stop, error, steps, history, List.copyOf(repeats));
        }

        public boolean diverged() {
            return stop == TrainingRun.Stop.DIVERGED;
        }

        public double bestTestLoss() {
            return history.bestTestLoss();
        }

        /** The lowest smoothed test loss ({@link History#bestSmoothed}). */
        public double bestSmoothed() {
            return history.bestSmoothed();
        }

        /** Cost up to the first evaluation whose smoothed test loss is at or below {@code threshold}, or null if the run never got there. */
        public Cost costAt(double threshold) {
            History.Point p = history.firstSmoothedAtOrBelow(threshold);
            return p == null ? null : cost(p);
        }

        /** Cost of the whole run. */
        public Cost total() {
            return cost(history.points.get(history.points.size() - 1));
        }

        private Cost cost(History.Point p) {
            int i = history.points.indexOf(p);
            double[] w = walls.stream().mapToDouble(r -> r[i]).sorted().toArray();
            return new Cost(p.step(), p.flopsPaper(), p.flopsExact(), dev.ffwd.Stats.median(w), w[0], p.accuracy());
        }
    }

    /**
     * All arms; {@code tunedLr} is the grid's learning rate with the lowest best smoothed test loss, which is the target
     * L* ({@code tunedTarget}); {@code methods}: the tuning-free methods by name; {@code reseeded}: the tuned learning
     * rate re-run with fresh training seeds ({@link Plan#reseeds}); {@code optimizer}: the title of the grid's optimizer
     * ({@link dev.ffwd.optim.OptimizerSpec#title()}), which the reports name.
     */
    public record Result(String lr, Map<String, Arm> baselines, List<Arm> ff, Map<String, Arm> methods, List<Arm> reseeded, String tunedLr,
                         double tunedTarget, String optimizer) {

        public Result {
            reseeded = List.copyOf(reseeded);
        }

        /** A result without re-runs of the tuned learning rate. */
        public Result(String lr, Map<String, Arm> baselines, List<Arm> ff, Map<String, Arm> methods, String tunedLr, double tunedTarget, String optimizer) {
            this(lr, baselines, ff, methods, List.of(), tunedLr, tunedTarget, optimizer);
        }

        /** Where a run counts as having reached L*. */
        public double threshold() {
            return tunedTarget * SLACK;
        }

        /**
         * Whether the grid learned anything: L* below the test loss at θ₀ by more than the slack, twice over (L*·SLACK² < the
         * loss at θ₀), so that the threshold L*·SLACK is not reached by any run that merely stays where it started.
         * Otherwise no saving or ratio is claimed.
         */
        public boolean learned() {
            return learned(tunedTarget, tunedBaseline().history().points.isEmpty() ? Double.NaN : tunedBaseline().history().points.get(0).testLoss());
        }

        /** {@link #learned()} from L* and the test loss at θ₀. */
        public static boolean learned(double target, double atThetaZero) {
            return target * SLACK * SLACK < atThetaZero;
        }

        private static boolean improved(Arm a, double smoothedBest) {
            return !a.history().points.isEmpty() && smoothedBest < a.history().points.get(0).testLoss();
        }

        public Arm tunedBaseline() {
            return baselines.get(tunedLr);
        }

        /** The baseline at the main learning rate: the paper's protocol compares against it. */
        public Arm baseline() {
            return baselines.get(lr);
        }

        public List<Arm> arms() {
            List<Arm> all = new ArrayList<>(baselines.values());
            all.addAll(ff);
            all.addAll(methods.values());
            all.addAll(reseeded);
            return all;
        }

        /**
         * Against the baseline at the arm's own learning rate, at that baseline's best smoothed test loss (the paper's
         * protocol, with the same slack as the tuned target). No saving is claimed where that baseline never had
         * {@value History#WINDOW} evaluations.
         */
        public Saving vsSameLr(Arm a) {
            Arm base = baselines.get(a.lr());
            if (base == null || !improved(base, base.bestSmoothed())) return Saving.notReached(a.lr());
            double threshold = base.bestSmoothed() * SLACK;
            return against(a, base.costAt(threshold), threshold);
        }

        /** Against the tuned baseline, at the threshold (none claimed if no baseline improved on θ₀). */
        public Saving vsTuned(Arm a) {
            if (!learned()) return Saving.notReached(a.lr());
            return against(a, tunedBaseline().costAt(threshold()), threshold());
        }

        private static Saving against(Arm a, Cost reference, double threshold) {
            Cost arm = a.costAt(threshold);
            return arm == null || reference == null || reference.step() == 0 ? Saving.notReached(a.lr()) : Saving.of(a.lr(), reference, arm);
        }

        /** The exact FLOPs of running the whole grid (what finding the tuned learning rate took). */
        public double gridFlopsExact() {
            return baselines.values().stream().mapToDouble(b -> b.total().flopsExact()).sum();
        }

        /** A method's (or a re-run's) exact FLOPs to the threshold over the tuned run's; null where it never got there. */
        public Double ratioVsTuned(Arm m) {
            Cost c = m.costAt(threshold()), t = tunedBaseline().costAt(threshold());
            return !learned() || c == null || t == null || t.flopsExact() == 0 ? null : c.flopsExact() / t.flopsExact();
        }

        /** A method's exact FLOPs to the threshold over the whole grid's; null where it never got there. */
        public Double ratioVsGrid(Arm m) {
            Cost c = m.costAt(threshold());
            return !learned() || c == null ? null : c.flopsExact() / gridFlopsExact();
        }

        /**
         * Against the cost of running the whole grid (what finding the tuned learning rate took), at the tuned target;
         * null for an arm at the tuned learning rate, which needed the grid to be chosen.
         */
        public Saving vsGrid(Arm a) {
            if (parseLr(a.lr()) == parseLr(tunedLr)) return null;
            if (!learned()) return Saving.notReached(a.lr());
            Cost arm = a.costAt(threshold());
            Cost tuned = tunedBaseline().costAt(threshold());
            if (arm == null || tuned == null || tuned.step() == 0) return Saving.notReached(a.lr());
            double paper = 0, exact = 0, wall = 0, wallMin = 0;
            for (Arm b : baselines.values()) {
                Cost c = b.total();
                paper += c.flopsPaper();
                exact += c.flopsExact();
                wall += c.wallMedian();
                wallMin += c.wallMin();
            }
            return Saving.of(a.lr(), new Cost(0, paper, exact, wall, wallMin, tuned.accuracy()), arm);  // accuracy: where the tuned lr got to the target
        }
    }

    public interface Listener extends TrainingRun.Listener {
        /** The model and data have loaded and split; no arm has started. */
        default void onPrepared(FineTune ft) {}
        default void onArmStart(String name, long maxSteps) {}
        default void onArmEnd(Arm arm) {}
    }

    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final FineTune ft;
    private final Plan plan;
    private final Listener listener;

    private Comparison(FineTune ft, Plan plan, Listener listener) {
        this.ft = ft;
        this.plan = plan;
        this.listener = listener;
    }

    public static Result run(FineTune ft, Plan plan, Listener listener) {
        return new Comparison(ft, plan, listener).run();
    }

    private Result run() {
        warmUp();
        Map<String, Arm> baselines = new LinkedHashMap<>();
        for (String lr : plan.grid())
            baselines.put(lr, arm("baseline@" + lr, Arm.OFF, lr, null, TrainingRun.StopRule.plateau(plan.patience())));
        Arm tuned = tuned(baselines.values());
        double target = tuned.bestSmoothed();
        TrainingRun.StopRule toThreshold = new TrainingRun.StopRule(plan.patience(), TrainingRun.StopRule.MIN_DELTA, target * SLACK);
        List<Arm> ff = new ArrayList<>();
        for (String lr : ffLrs(tuned.lr()))
            plan.variants().forEach((name, cfg) -> ff.add(arm("ff-" + name + "@" + lr, name, lr, cfg,
                    longer(ft.options.train().toBuilder().lr(parseLr(lr)).build()), toThreshold)));
        Map<String, Arm> methods = new LinkedHashMap<>();
        plan.methods().forEach((name, m) -> methods.put(name, arm(name, m, toThreshold)));
        List<Arm> reseeded = new ArrayList<>();
        for (int i = 1; i <= plan.reseeds(); i++) {
            TrainConfig t = ft.options.train();
            t = longer(t.toBuilder().lr(parseLr(tuned.lr())).seed(t.seed() + i * Plan.RESEED_STRIDE).build());
            reseeded.add(arm(reseededName(t.seed(), tuned.lr()), Arm.OFF, tuned.lr(), null, t, toThreshold));
        }
        Result first = new Result(plan.lr(), baselines, ff, methods, reseeded, tuned.lr(), target, ft.options.train().optimizer().title());
        return plan.repeats() == 1 ? first : repeat(first);
    }

    /** The arm name of the tuned learning rate re-run with training seed {@code seed}. */
    private static String reseededName(long seed, String lr) {
        return "reseed-" + seed + "@" + lr;
    }

    /**
     * The baseline with the lowest best smoothed test loss; a diverged baseline counts with the evaluations it finished.
     * Ties go to the earlier learning rate of the grid.
     */
    static Arm tuned(java.util.Collection<Arm> baselines) {
        Arm best = null;
        for (Arm a : baselines)
            if (Double.isFinite(a.bestSmoothed()) && (best == null || a.bestSmoothed() < best.bestSmoothed()))
                best = a;
        if (best == null) throw new FfwdException("no baseline of the grid finished " + History.WINDOW
                + " evaluations (the smoothed test loss needs them); lower the learning rates of the grid or evaluate more often");
        return best;
    }

    /** The learning rates FF arms run at: "lr" and "tuned" resolved, duplicates dropped, in the order given. */
    private List<String> ffLrs(String tuned) {
        List<String> out = new ArrayList<>();
        for (String s : plan.ffLrs()) {
            String lr = s.equals("lr") ? plan.lr() : s.equals("tuned") ? tuned : s;
            parseLr(lr);
            if (out.stream().noneMatch(o -> parseLr(o) == parseLr(lr))) out.add(lr);
        }
        return out;
    }

    /** Two untimed steps and evaluations, so that no arm pays for class loading, JIT and allocator warm-up. */
    private void warmUp() {
        ft.newRun(ft.options.train().toBuilder().maxSteps(2).build(), FfConfig.off(), null).run(TrainingRun.StopRule.budget(), new TrainingRun.Listener() {});
    }

    /** A tuning-free method's arm: its optimizer from its own default learning rate, with its FF variant if it has one. */
    private Arm arm(String name, Method m, TrainingRun.StopRule rule) {
        return arm(name, m.ff().enabled() ? name : Arm.OFF, Double.toString(m.lr()), m.ff().enabled() ? m.ff() : null,
                longer(m.apply(ft.options.train())), rule);
    }

    /** {@code t} with {@link Plan#ARM_BUDGET} times its step budget. */
    private static TrainConfig longer(TrainConfig t) {
        return t.toBuilder().maxSteps(t.maxSteps() * Plan.ARM_BUDGET).build();
    }

    private Arm arm(String name, String variant, String lr, FfConfig ff, TrainingRun.StopRule rule) {
        return arm(name, variant, lr, ff, ft.options.train().toBuilder().lr(parseLr(lr)).build(), rule);
    }

    /** Runs an arm, or loads it when a resumed comparison finished it before. */
    private Arm arm(String name, String variant, String lr, FfConfig ff, TrainConfig t, TrainingRun.StopRule rule) {
        Path saved = plan.dir() == null ? null : plan.dir().resolve("arms").resolve(name + ".json");
        if (saved != null && plan.resume() && Files.isRegularFile(saved)) {
            Arm a = load(saved);
            listener.onArmEnd(a);
            return a;
        }
        listener.onArmStart(name, t.maxSteps());
        Path ckpt = saved == null ? null : saved.resolveSibling(name + ".ckpt.safetensors");
        TrainingRun run = ft.newRun(t, ff == null ? FfConfig.off() : ff, ckpt);
        if (ckpt != null && !plan.resume()) deleteQuietly(ckpt);
        if (plan.resume()) run.resume();
        Arm a;
        try {
            TrainingRun.Stop stop = run.run(rule, listener);
            a = Arm.finished(name, variant, lr, ff, stop, run.trainer().steps(), run.history());
        } catch (Trainer.Diverged e) {
            a = Arm.diverged(name, variant, lr, ff, e.getMessage(), run.trainer().steps(), run.history());
        }
        if (saved != null) {
            save(saved, a);
            deleteQuietly(ckpt);
        }
        listener.onArmEnd(a);
        return a;
    }

    /**
     * Re-runs every arm to the step it reached, in alternating order, for wall times over several repeats (not the
     * re-seeded runs of the tuned lr, which are there for how often they reach L*, not for their time).
     */
    private Result repeat(Result first) {
        List<Arm> arms = new ArrayList<>(first.arms());
        arms.removeAll(first.reseeded());
        Map<String, List<double[]>> walls = new LinkedHashMap<>();
        for (Arm a : arms) walls.put(a.name(), new ArrayList<>(a.walls()));
        for (int r = 1; r < plan.repeats(); r++) {
            List<Arm> order = new ArrayList<>(arms);
            if (r % 2 == 1) java.util.Collections.reverse(order);
            for (Arm a : order) {
                if (walls.get(a.name()).size() > r || a.diverged()) continue;  // loaded from a resumed comparison
                listener.onArmStart(a.name() + " (repeat " + (r + 1) + ")", a.steps());
                Method m = first.methods().containsKey(a.name()) ? plan.methods().get(a.name()) : null;
                TrainConfig t = m != null ? m.apply(ft.options.train()) : ft.options.train().toBuilder().lr(parseLr(a.lr())).build();
                TrainingRun run = ft.newRun(t.toBuilder().maxSteps(Math.max(1, a.steps())).build(), a.ff() == null ? FfConfig.off() : a.ff(), null);
                run.run(TrainingRun.StopRule.budget(), listener);
                double[] w = run.history().wallSeconds();
                walls.get(a.name()).add(Arrays.copyOf(w, a.history().points.size()));
            }
        }
        Map<String, Arm> baselines = new LinkedHashMap<>();
        first.baselines().forEach((lr, a) -> baselines.put(lr, a.withWalls(walls.get(a.name()))));
        List<Arm> ff = first.ff().stream().map(a -> a.withWalls(walls.get(a.name()))).toList();
        Map<String, Arm> methods = new LinkedHashMap<>();
        first.methods().forEach((name, a) -> methods.put(name, a.withWalls(walls.get(a.name()))));
        Result r = new Result(first.lr(), baselines, ff, methods, first.reseeded(), first.tunedLr(), first.tunedTarget(), first.optimizer());
        if (plan.dir() != null) r.arms().forEach(a -> save(plan.dir().resolve("arms").resolve(a.name() + ".json"), a));
        return r;
    }

    static double parseLr(String lr) {
        try {
            double v = Double.parseDouble(lr.trim());
            if (v > 0 && Double.isFinite(v)) return v;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("learning rate must be a positive number, got '" + lr + "'");
    }

    private static void save(Path file, Arm a) {
        try {
            AtomicFiles.writeString(file, JSON.writeValueAsString(a));
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot save the finished arm: " + e.getMessage());
        }
    }

    private static Arm load(Path file) {
        try {
            return JSON.readValue(file.toFile(), Arm.class);
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read a finished arm (delete it to re-run that arm): "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            if (p != null) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a stale checkpoint is overwritten by the next save
        }
    }
}
