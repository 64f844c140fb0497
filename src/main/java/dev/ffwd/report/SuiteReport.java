package dev.ffwd.report;

import dev.ffwd.Stats;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Aggregates comparison reports (tasks × seeds) into medians and min–max. An FF arm is named by its role:
 * the variant at the main learning rate ({@code ffwd@lr}) or at the tuned one ({@code ffwd@tuned}); an arm at a
 * learning rate that is both counts for both. A saving is aggregated only over the seeds that reached the target,
 * and the count of those that did is reported beside it.
 */
public final class SuiteReport {

    private static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> COMPARISONS = List.of("savings", "savings_vs_tuned", "savings_vs_grid");
    static final List<String> METRICS = List.of("flops_paper_percent", "flops_exact_percent", "wall_percent");
    /** Test accuracies (classification tasks) where an arm and its reference reached the target, aggregated like savings. */
    static final List<String> ACCURACIES = List.of("test_accuracy", "reference_test_accuracy");

    private SuiteReport() {}

    public static void write(Path dir, Map<String, List<Path>> reports, String command) {
        ObjectNode root = json(reports, command);
        try {
            AtomicFiles.writeString(dir.resolve("report.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
            AtomicFiles.writeString(dir.resolve("report.md"), markdown(root));
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot write the suite report: " + e.getMessage());
        }
    }

    public static ObjectNode json(Map<String, List<Path>> reports, String command) {
        ObjectNode root = JSON.createObjectNode().put("command", command);
        ObjectNode tasks = root.putObject("tasks");
        Map<String, Map<String, List<JsonNode>>> overall = new LinkedHashMap<>();  // role → comparison → savings
        Map<String, List<JsonNode>> methodsOverall = new LinkedHashMap<>();         // method → its line in each comparison
        List<JsonNode> reseededOverall = new ArrayList<>();                          // each re-seeded tuned run's line
        reports.forEach((task, files) -> {
            Map<String, List<JsonNode>> methodsHere = new LinkedHashMap<>();
            List<JsonNode> reseededHere = new ArrayList<>();
            ObjectNode t = tasks.putObject(task);
            ArrayNode seeds = t.putArray("seeds");
            Map<String, Map<String, List<JsonNode>>> byRole = new LinkedHashMap<>();
            for (Path f : files) {
                JsonNode r = read(f);
                ObjectNode s = seeds.addObject();
                s.put("report", f.toString());
                s.put("seed", r.path("configuration").path("train").path("seed").asLong());
                s.put("tuned_lr", r.path("tuned").path("lr").asText());
                s.put("tuned_target", r.path("tuned").path("target_test_loss").asDouble());
                if (r.path("tuned").has("test_accuracy_at_target"))
                    s.put("tuned_test_accuracy", r.path("tuned").path("test_accuracy_at_target").asDouble());
                ArrayNode cut = s.putArray("baselines_cut_by_budget");
                r.path("baselines").fields().forEachRemaining(e -> { if (e.getValue().path("budget_cut").asBoolean()) cut.add(e.getKey()); });
                boolean learned = learned(r);
                s.put("learned", learned);
                double target = r.path("tuned").path("target_test_loss").asDouble();
                if (learned) {
                    List<ObjectNode> redrawn = new ArrayList<>();
                    r.path("tuned").path("reseeded").forEach(run -> redrawn.add(closeness(run, target)));
                    double bar = redrawn.isEmpty() ? Double.NaN  // how close the tuned recipe itself came again
                            : Math.max(dev.ffwd.train.Comparison.SLACK, Stats.median(redrawn.stream().mapToDouble(l -> l.path(CLOSEST).asDouble()).toArray()));
                    r.path("methods").fields().forEachRemaining(e -> {
                        ObjectNode line = closeness(e.getValue(), target);
                        if (!Double.isNaN(bar)) line.put(AS_CLOSE, line.path(CLOSEST).asDouble() <= bar);
                        methodsHere.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(line);
                        methodsOverall.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(line);
                    });
                    reseededHere.addAll(redrawn);
                    reseededOverall.addAll(redrawn);
                }
                s.set("methods", r.path("methods"));
                ObjectNode arms = s.putObject("arms");
                for (Iterator<Map.Entry<String, JsonNode>> it = r.path("savings").fields(); it.hasNext(); ) {
                    String name = it.next().getKey();
                    for (String role : roles(r, name)) {
                        ObjectNode a = arms.putObject(role);
                        for (String c : COMPARISONS) {
                            JsonNode sv = r.path(c).path(name);
                            if (sv.isMissingNode()) continue;  // e.g. no grid saving for an arm at the tuned lr
                            a.set(c, sv);
                            if (!learned) continue;  // an L* the grid never learned is a lucky reading: no evidence either way
                            byRole.computeIfAbsent(role, k -> new LinkedHashMap<>()).computeIfAbsent(c, k -> new ArrayList<>()).add(sv);
                            overall.computeIfAbsent(role, k -> new LinkedHashMap<>()).computeIfAbsent(c, k -> new ArrayList<>()).add(sv);
                        }
                    }
                }
            }
            t.set("summary", summary(byRole));
            t.set("methods", methodSummary(methodsHere));
            if (!reseededHere.isEmpty()) t.set("reseeded", methodSummary(Map.of(RESEEDED, reseededHere)).path(RESEEDED));
        });
        root.set("overall", summary(overall));
        root.set("measurement", measurement(reports));
        ObjectNode methods = methodSummary(methodsOverall);
        root.set("methods", methods);
        if (!reseededOverall.isEmpty()) root.set("reseeded", methodSummary(Map.of(RESEEDED, reseededOverall)).path(RESEEDED));  // no candidate
        root.put("default_method", dev.ffwd.train.Method.DEFAULT);
        String best = best(methods);
        if (best != null) root.put("best_method", best);
        return root;
    }

    /**
     * How long the arms ran, summed over the arms that recorded their evaluation time: arms run before the record (no
     * {@code eval_seconds}, or 0 after evaluations in reports written before this rule) are counted as such.
     */
    private static ObjectNode measurement(Map<String, List<Path>> reports) {
        double train = 0, eval = 0;
        int recorded = 0, all = 0;
        for (List<Path> files : reports.values())
            for (Path f : files)
                for (JsonNode arm : read(f).path("arms")) {
                    all++;
                    JsonNode curve = arm.path("curve"), seconds = arm.path("eval_seconds");
                    if (!seconds.isNumber() || (seconds.asDouble() <= 0 && !curve.isEmpty())) continue;
                    train += curve.isEmpty() ? 0 : curve.get(curve.size() - 1).path("wall_seconds").asDouble();
                    eval += seconds.asDouble();
                    recorded++;
                }
        return JSON.createObjectNode().put("train_seconds", train).put("eval_seconds", eval).put("arms", recorded).put("of", all);
    }

    /** Share of task × seed cases a method must reach L* in to be a default candidate. */
    public static final double REACH_SHARE = 0.9;

    /**
     * The measured winner: among methods that reached L* in at least {@link #REACH_SHARE} of the cases, the lowest median
     * exact-FLOP ratio to the tuned AdamW run; if none did, the one that reached it most often (then the lower median).
     */
    static String best(ObjectNode methods) {
        java.util.Comparator<Map.Entry<String, JsonNode>> byShare = java.util.Comparator.comparingDouble(e -> -e.getValue().path("reached_share").asDouble());
        java.util.Comparator<Map.Entry<String, JsonNode>> byRatio = java.util.Comparator.comparingDouble(
                e -> e.getValue().path("ratio_vs_tuned").path("median").asDouble(Double.POSITIVE_INFINITY));
        List<Map.Entry<String, JsonNode>> all = new ArrayList<>();
        methods.fields().forEachRemaining(all::add);
        if (all.isEmpty()) return null;
        List<Map.Entry<String, JsonNode>> candidates = all.stream().filter(e -> e.getValue().path("reached_share").asDouble() >= REACH_SHARE).toList();
        return candidates.isEmpty() ? all.stream().min(byShare.thenComparing(byRatio)).orElseThrow().getKey()
                : candidates.stream().min(byRatio).orElseThrow().getKey();
    }

    /**
     * Whether a comparison's grid learned the task ({@link dev.ffwd.train.Comparison.Result#learned}), from its report:
     * L* against the tuned baseline's test loss at θ₀. A task not learned within the budget says nothing about the methods.
     */
    static boolean learned(JsonNode report) {
        JsonNode curve = report.path("baselines").path(report.path("tuned").path("lr").asText()).path("curve");
        if (curve.isEmpty()) return true;  // no loss at θ₀ recorded: nothing says it did not learn
        double atThetaZero = curve.get(0).path("test_loss").asDouble();
        return dev.ffwd.train.Comparison.Result.learned(report.path("tuned").path("target_test_loss").asDouble(), atThetaZero);
    }

    /** A method's (or re-seeded tuned run's) line with {@link #CLOSEST}: how close it came, reached or not. */
    private static ObjectNode closeness(JsonNode line, double target) {
        ObjectNode n = line.deepCopy();
        n.put(CLOSEST, n.path("best_smoothed_test_loss").asDouble(Double.NaN) / target);
        return n;
    }

    /**
     * The row of the tuned learning rate re-run with fresh training seeds (compare's --reseeds): every such run of every
     * learned case. It needs the grid, so it is never a default candidate; how often it reaches L* is the most a single
     * run of any method can be expected to.
     */
    static final String RESEEDED = "tuned lr, fresh seed";

    /** Ratios a method's line in a comparison carries; aggregated over the cases that reached L*. */
    static final List<String> RATIOS = List.of("ratio_vs_tuned", "ratio_vs_grid");

    /**
     * A method's lowest 3-evaluation mean test loss over L*, in every learned case: 1.01 or below where it reached L*
     * (it stops there), and how far off it stayed where it did not.
     */
    static final String CLOSEST = "best_over_target";

    /**
     * Whether a method came at least as close to L* as the tuned learning rate re-run on a fresh seed did in the same
     * case (its best ÷ L* at or below the re-drawn runs' median best ÷ L*, or 1.01): L* is the best of five noisy runs,
     * so this is the most that one run of the tuned recipe does. Only in cases that re-ran the tuned lr.
     */
    static final String AS_CLOSE = "as_close_as_redrawn";

    /**
     * Per method: the cases that reached L* out of all, median / min / max of its cost ratios over those that did, and
     * of {@link #CLOSEST} over all of them.
     */
    private static ObjectNode methodSummary(Map<String, List<JsonNode>> lines) {
        ObjectNode out = JSON.createObjectNode();
        lines.forEach((method, cases) -> {
            ObjectNode n = out.putObject(method);
            List<JsonNode> reached = cases.stream().filter(c -> c.path("reached").asBoolean()).toList();
            n.put("reached", reached.size());
            n.put("of", cases.size());
            n.put("reached_share", cases.isEmpty() ? 0 : reached.size() / (double) cases.size());
            List<JsonNode> judged = cases.stream().filter(c -> c.has(AS_CLOSE)).toList();
            if (!judged.isEmpty())
                n.putObject(AS_CLOSE).put("cases", judged.stream().filter(c -> c.path(AS_CLOSE).asBoolean()).count()).put("of", judged.size());
            for (String ratio : RATIOS) {
                double[] v = reached.stream().mapToDouble(c -> c.path(ratio).asDouble()).sorted().toArray();
                if (v.length > 0) n.putObject(ratio).put("median", Stats.median(v)).put("min", v[0]).put("max", v[v.length - 1]);
            }
            double[] closest = cases.stream().mapToDouble(c -> c.path(CLOSEST).asDouble(Double.NaN)).filter(Double::isFinite).sorted().toArray();
            if (closest.length > 0)
                n.putObject(CLOSEST).put("median", Stats.median(closest)).put("min", closest[0]).put("max", closest[closest.length - 1]);
        });
        return out;
    }

    /** The roles an FF arm plays: its variant at the main lr and/or at the tuned lr. */
    static List<String> roles(JsonNode report, String armName) {
        JsonNode arm = report.path("arms").path(armName);
        String variant = arm.path("variant").asText(), lr = arm.path("lr").asText();
        List<String> roles = new ArrayList<>();
        if (same(lr, report.path("lr").asText())) roles.add(variant + "@lr");
        if (same(lr, report.path("tuned").path("lr").asText())) roles.add(variant + "@tuned");
        if (roles.isEmpty()) roles.add(variant + "@" + lr);
        return roles;
    }

    private static boolean same(String a, String b) {
        try {
            return Double.parseDouble(a) == Double.parseDouble(b);
        } catch (NumberFormatException e) {
            return a.equals(b);
        }
    }

    private static ObjectNode summary(Map<String, Map<String, List<JsonNode>>> byRole) {
        ObjectNode out = JSON.createObjectNode();
        byRole.forEach((role, comparisons) -> {
            ObjectNode r = out.putObject(role);
            comparisons.forEach((c, savings) -> {
                ObjectNode n = r.putObject(c);
                List<JsonNode> reached = savings.stream().filter(s -> s.path("reached").asBoolean()).toList();
                n.put("reached", reached.size());
                n.put("of", savings.size());
                for (String m : java.util.stream.Stream.concat(METRICS.stream(), ACCURACIES.stream()).toList()) {
                    double[] v = reached.stream().mapToDouble(s -> s.path(m).asDouble()).sorted().toArray();
                    if (v.length == 0) continue;
                    n.putObject(m).put("median", Stats.median(v)).put("min", v[0]).put("max", v[v.length - 1]);
                }
            });
        });
        return out;
    }

    private static JsonNode read(Path f) {
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new FfwdException(f + ": cannot read comparison report: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** Tables: per task and overall, each FF role's saving against the same-lr baseline, the tuned one and the grid. */
    public static String markdown(JsonNode root) {
        StringBuilder sb = new StringBuilder("# Fast Forward suite\n\nProduced by `" + root.path("command").asText() + "`.\n\n");
        Set<String> roles = new LinkedHashSet<>();
        root.path("overall").fieldNames().forEachRemaining(roles::add);
        String[][] views = {
                {"savings_vs_tuned", "flops_exact_percent", "Against the tuned baseline: exact FLOPs saved at the tuned target"},
                {"savings_vs_tuned", "wall_percent", "Against the tuned baseline: wall time saved at the tuned target"},
                {"savings", "flops_paper_percent", "Against the baseline at the same learning rate (the paper's protocol): paper-convention FLOPs saved"},
                {"savings_vs_grid", "flops_exact_percent", "Against the whole grid (tuning the learning rate included): exact FLOPs saved"}};
        for (String[] v : views) {
            if (roles.stream().allMatch(r -> root.path("overall").path(r).path(v[0]).isMissingNode())) continue;  // no FF arm has this view
            sb.append("## ").append(v[2]).append("\n\nMedian [min, max] over the seeds that reached the target; reached/seeds in brackets. ")
                    .append("Seeds whose grid did not learn the task are left out, as in the method table.\n\n");
            sb.append("| task | tuned lr per seed |");
            roles.forEach(r -> sb.append(' ').append(r).append(" |"));
            sb.append("\n|---|---|").append("---:|".repeat(roles.size())).append('\n');
            root.path("tasks").fields().forEachRemaining(e -> {
                sb.append("| ").append(e.getKey()).append(" | ").append(tunedLrs(e.getValue())).append(" |");
                roles.forEach(r -> sb.append(' ').append(cell(e.getValue().path("summary").path(r).path(v[0]), v[1])).append(" |"));
                sb.append('\n');
            });
            sb.append("| **all** | |");
            roles.forEach(r -> sb.append(" **").append(cell(root.path("overall").path(r).path(v[0]), v[1])).append("** |"));
            sb.append("\n\n");
        }
        methodTable(root, sb);
        accuracyTable(root, roles, sb);
        List<String> cut = new ArrayList<>();
        root.path("tasks").fields().forEachRemaining(e -> e.getValue().path("seeds").forEach(s -> s.path("baselines_cut_by_budget")
                .forEach(lr -> cut.add(e.getKey() + " seed " + s.path("seed").asText() + " lr " + lr.asText()))));
        List<String> unlearned = new ArrayList<>();
        root.path("tasks").fields().forEachRemaining(e -> e.getValue().path("seeds").forEach(s -> {
            if (s.has("learned") && !s.path("learned").asBoolean()) unlearned.add(e.getKey() + " seed " + s.path("seed").asText());
        }));
        if (!unlearned.isEmpty()) sb.append("Not learned within the budget (left out of the method and Fast Forward tables): ").append(String.join("; ", unlearned)).append(".\n\n");
        sb.append(cut.isEmpty() ? "Every baseline stopped at a plateau, none by the step budget.\n"
                : "Baselines cut by the step budget (still improving when stopped): " + String.join("; ", cut) + ".\n");
        timeLine(root.path("measurement"), sb);
        return sb.toString();
    }

    /** How long the arms ran, where their comparisons recorded it (reports written before it was recorded do not). */
    private static void timeLine(JsonNode m, StringBuilder sb) {
        int n = m.path("arms").asInt();
        if (n == 0) return;
        double train = m.path("train_seconds").asDouble(), eval = m.path("eval_seconds").asDouble();
        sb.append(String.format(Locale.ROOT, "%nTime: %s trained for %s (training and FF steps) and were evaluated for "
                        + "%s more (test-loss passes, %.0f%% of their time); loading and data preparation are not counted.%n",
                n == m.path("of").asInt() ? "all " + n + " arms" : n + " of the " + m.path("of").asInt() + " arms (the others predate this record)",
                duration(train), duration(eval), 100 * eval / Math.max(train + eval, 1e-9)));
    }

    /** Seconds as minutes below two hours, else hours: 37 min, 3.4 h. */
    static String duration(double seconds) {
        return seconds < 7200 ? String.format(Locale.ROOT, "%.0f min", seconds / 60) : String.format(Locale.ROOT, "%.1f h", seconds / 3600);
    }

    /**
     * The tuning-free methods: how often each reached L*, and its exact FLOPs over the tuned AdamW run's and the grid's;
     * then, where the comparisons re-ran the tuned lr on fresh seeds, that reference row.
     */
    private static void methodTable(JsonNode root, StringBuilder sb) {
        if (root.path("methods").isEmpty() && !root.has("reseeded")) return;
        sb.append("## Without tuning the learning rate: each method from its own default\n\n")
                .append("Exact FLOPs to L* (its 3-evaluation mean test loss at or below L*·1.01) over the tuned AdamW run's, and over the ")
                .append("whole grid's; median [min, max] over the task × seed cases that reached L*. Cases whose grid did not learn the task ")
                .append("(L*·1.01² not below the test loss at θ₀) are left out: any run reaches such an L*. ")
                .append("Default without `--lr`: **").append(root.path("default_method").asText()).append("**; measured best here")
                .append(" (lowest median × tuned AdamW among methods that reached L* in at least ").append(Math.round(100 * REACH_SHARE))
                .append("% of the cases, else the one that reached it most often): **").append(root.path("best_method").asText("—")).append("**.\n\n")
                .append("The last column is each method's lowest 3-evaluation mean test loss over L*, in every case: at most 1.01 where ")
                .append("it reached L* (it stops there), and how far above L* it stayed where it did not.");
        if (root.has("reseeded"))
            sb.append(" The last row is no method: it is AdamW at each case's tuned lr, run again on a fresh training seed (same split ")
                    .append("and test set), to the same rule; it needs the grid, and how often it reaches L* is the most a single run can be ")
                    .append("expected to.");
        boolean redrawn = root.has("reseeded");
        if (redrawn)
            sb.append(" The column \"as close as the tuned lr re-drawn\" counts the cases in which a method's best ÷ L* is at most the ")
                    .append("re-drawn tuned run's (or 1.01): L* is the best of five noisy runs, and that is what one more run of the tuned recipe ")
                    .append("gets.");
        sb.append("\n\n| method | reached L* |").append(redrawn ? " as close as the tuned lr re-drawn |" : "")
                .append(" × tuned AdamW | × whole grid | its best ÷ L* (all cases) |\n|---|---:|").append(redrawn ? "---:|" : "").append("---:|---:|---:|\n");
        Map<String, String> rows = new LinkedHashMap<>();  // label → where its summary sits, at the root and in each task
        root.path("methods").fieldNames().forEachRemaining(n -> rows.put(n, "/methods/" + n.replace("~", "~0").replace("/", "~1")));
        if (root.has("reseeded")) rows.put("*" + RESEEDED + "* (needs the grid)", "/reseeded");
        rows.forEach((label, at) -> {
            JsonNode m = root.at(at);
            sb.append("| ").append(label).append(" | ").append(m.path("reached").asInt()).append('/').append(m.path("of").asInt());
            if (redrawn) sb.append(" | ").append(m.has(AS_CLOSE) ? m.path(AS_CLOSE).path("cases").asInt() + "/" + m.path(AS_CLOSE).path("of").asInt() : "—");
            sb.append(" | ").append(ratioCell(m.path("ratio_vs_tuned"))).append(" | ").append(ratioCell(m.path("ratio_vs_grid")))
                    .append(" | ").append(ratioCell(m.path(CLOSEST), "%.3f")).append(" |\n");
        });
        sb.append("\nPer task (× tuned AdamW, reached/cases):\n\n| task | tuned lr per seed |");
        rows.keySet().forEach(n -> sb.append(' ').append(n).append(" |"));
        sb.append("\n|---|---|").append("---:|".repeat(rows.size())).append('\n');
        root.path("tasks").fields().forEachRemaining(e -> {
            sb.append("| ").append(e.getKey()).append(" | ").append(tunedLrs(e.getValue())).append(" |");
            for (String at : rows.values()) {
                JsonNode m = e.getValue().at(at);
                sb.append(' ').append(m.isMissingNode() ? "—" : ratioCell(m.path("ratio_vs_tuned")) + " (" + m.path("reached").asInt() + "/" + m.path("of").asInt() + ")").append(" |");
            }
            sb.append('\n');
        });
        sb.append('\n');
    }

    /** A task's tuned learning rate in each of its seeds, in seed order. */
    private static String tunedLrs(JsonNode task) {
        List<String> lrs = new ArrayList<>();
        task.path("seeds").forEach(s -> lrs.add(s.path("tuned_lr").asText()));
        return String.join(", ", lrs);
    }

    private static String ratioCell(JsonNode r) {
        return ratioCell(r, "%.2f");
    }

    /** {@code number}: the format of each of median, min and max. */
    private static String ratioCell(JsonNode r, String number) {
        return r.isMissingNode() ? "—" : String.format(Locale.ROOT, number + "× [" + number + ", " + number + "]",
                r.path("median").asDouble(), r.path("min").asDouble(), r.path("max").asDouble());
    }

    /**
     * For classification tasks: the test accuracy of each FF role where it reached the tuned target, beside the tuned
     * baseline's where it did (medians over seeds); omitted when no task recorded accuracy.
     */
    private static void accuracyTable(JsonNode root, Set<String> roles, StringBuilder sb) {
        List<Map.Entry<String, JsonNode>> tasks = new ArrayList<>();
        root.path("tasks").fields().forEachRemaining(e -> { if (e.getValue().path("seeds").findValue("tuned_test_accuracy") != null) tasks.add(e); });
        if (tasks.isEmpty()) return;
        sb.append("## Test accuracy at the tuned target\n\nMedian [min, max] over the seeds that reached it, in percent; reached/seeds in brackets.\n\n");
        sb.append("| task | tuned baseline |");
        roles.forEach(r -> sb.append(' ').append(r).append(" |"));
        sb.append("\n|---|---:|").append("---:|".repeat(roles.size())).append('\n');
        for (Map.Entry<String, JsonNode> e : tasks) {
            double[] tuned = java.util.stream.StreamSupport.stream(e.getValue().path("seeds").spliterator(), false)
                    .filter(s -> s.has("tuned_test_accuracy")).mapToDouble(s -> 100 * s.path("tuned_test_accuracy").asDouble()).sorted().toArray();
            sb.append("| ").append(e.getKey()).append(" | ").append(String.format(Locale.ROOT, "%.1f%% [%.1f, %.1f]", Stats.median(tuned), tuned[0],
                    tuned[tuned.length - 1])).append(" |");
            roles.forEach(r -> sb.append(' ').append(cell(e.getValue().path("summary").path(r).path("savings_vs_tuned"), "test_accuracy", 100)).append(" |"));
            sb.append('\n');
        }
        sb.append('\n');
    }

    private static String cell(JsonNode n, String metric) {
        return cell(n, metric, 1);
    }

    /** {@code scale}: what a value is multiplied by to read as a percentage. */
    private static String cell(JsonNode n, String metric, double scale) {
        if (n.isMissingNode()) return "—";
        String count = "(" + n.path("reached").asInt() + "/" + n.path("of").asInt() + ")";
        JsonNode m = n.path(metric);
        if (m.isMissingNode()) return "not reached " + count;
        return String.format(Locale.ROOT, "%.1f%% [%.1f, %.1f] %s", scale * m.path("median").asDouble(), scale * m.path("min").asDouble(),
                scale * m.path("max").asDouble(), count);
    }
}
