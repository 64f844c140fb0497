package dev.ffwd.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.data.Format;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.FineTune;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A comparison as ffwd runs and records it in its plan's folder: {@code plan.json} (the whole setup, which a resumed
 * comparison must match, or extend by more arms: more methods or re-seeded runs), the arms ({@link Comparison}) and the
 * report ({@link ComparisonReport}). {@code compare}, {@code demo} and each comparison of {@code suite} are one.
 */
public record Experiment(FineTune.Options options, Comparison.Plan plan) {

    public static final String PLAN = "plan.json";

    /** The plan fields a resume may extend: it may add methods, FF modes and re-seeded runs, since the arms already run stay valid. */
    private static final String METHODS = "methods", RESEEDS = "reseeds", VARIANTS = "variants";
    /** The precision a run resolved on its CPU, which its report records beside the plan (not part of it). */
    static final String PRECISION_USED = "precision_used";

    /** A connection that training uses while the comparison runs (a Spark cluster), closed when it ends. */
    public interface Attachment extends AutoCloseable {
        @Override
        void close();
    }

    public Experiment {
        if (options == null || plan == null) throw new IllegalArgumentException("an experiment needs its options and plan");
        if (plan.dir() == null) throw new IllegalArgumentException("an experiment is recorded in a folder: the plan needs one");
    }

    /** The same experiment on another data file and task format, seed and folder (one comparison of a suite). */
    public Experiment on(Path data, Format format, long seed, Path dir) {
        FineTune.Options o = options.on(data, format);
        return new Experiment(o.toBuilder().train(o.train().toBuilder().seed(seed).build()).build(), plan.in(dir));
    }

    /** What {@code plan.json} and report.json's {@code configuration} hold: the options, the grid's optimizer by name, and the plan. */
    public ObjectNode configuration() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.valueToTree(options);
        ((ObjectNode) cfg.path("train").path("optimizer")).put("name", options.train().optimizer().name());
        cfg.set(VARIANTS, json.valueToTree(plan.variants()));
        cfg.set("methods", json.valueToTree(plan.methods().keySet()));
        if (plan.reseeds() > 0) cfg.put(RESEEDS, plan.reseeds());  // absent when none: plans written before it match
        cfg.put("lr_text", plan.lr());
        cfg.set("lr_grid", json.valueToTree(plan.grid()));
        cfg.set("ff_lrs", json.valueToTree(plan.ffLrs()));
        cfg.put("patience", plan.patience());
        cfg.put("repeats", plan.repeats());
        return cfg;
    }

    /**
     * Runs the comparison and writes its report. A resumed experiment must have the plan its folder records; the plan
     * is written only once the model and data have loaded, so that a run refused before leaves none behind.
     * {@code attach} connects the prepared fine-tuning to a cluster, or to nothing.
     */
    public Comparison.Result run(Function<FineTune, ? extends Attachment> attach, Comparison.Listener listener) {
        ObjectNode cfg = configuration();
        String planText = planText(cfg);
        try (FineTune ft = FineTune.prepare(options); Attachment ignored = attach.apply(ft)) {
            listener.onPrepared(ft);
            write(plan.dir().resolve(PLAN), planText);
            Comparison.Result r = Comparison.run(ft, plan, listener);
            cfg.put(PRECISION_USED, ft.precision.label());  // the choice resolved on this CPU; not part of the plan a resume matches
            ComparisonReport.write(plan.dir(), r, cfg);
            return r;
        }
    }

    /**
     * Whether its folder holds the report of a finished run of this very plan (a suite resumed with more arms runs the
     * rest). The report's own configuration decides, not plan.json: a resumed run writes its extended plan when it
     * starts, and a run killed after that leaves the extended plan beside the report of the shorter one.
     */
    public boolean finishedIn() {
        Path report = plan.dir().resolve("report.json");
        if (!Files.isRegularFile(report)) return false;
        try {
            ObjectMapper json = new ObjectMapper();
            JsonNode ran = json.readTree(report.toFile()).path("configuration");
            if (!(ran instanceof ObjectNode o)) return false;
            return o.deepCopy().without(PRECISION_USED).equals(json.readTree(json.writeValueAsString(configuration())));
        } catch (IOException e) {
            throw new FfwdException(report + ": " + e.getMessage());
        }
    }

    /**
     * {@code cfg} as plan.json holds it, after checking that a resumed experiment's folder records the same plan or one
     * that this plan extends (every method and FF mode it had, the modes unchanged, and no fewer re-seeded runs).
     */
    String planText(ObjectNode cfg) {
        Path file = plan.dir().resolve(PLAN);
        try {
            ObjectMapper json = new ObjectMapper();
            String text = json.writerWithDefaultPrettyPrinter().writeValueAsString(cfg);
            if (plan.resume() && Files.isRegularFile(file)) {
                ObjectNode before = (ObjectNode) json.readTree(file.toFile());
                ObjectNode now = (ObjectNode) json.readTree(text);  // through text, so that numbers compare as they were written
                List<String> growing = List.of(METHODS, RESEEDS, VARIANTS);
                String field = differs(before.deepCopy().without(growing), now.deepCopy().without(growing));
                if (field != null) throw new FfwdException(file + ": --resume with different settings (" + field
                        + " differs); rerun with the original options or use --overwrite");
                List<String> dropped = new ArrayList<>();
                before.path(METHODS).forEach(m -> dropped.add(m.asText()));
                now.path(METHODS).forEach(m -> dropped.remove(m.asText()));
                if (!dropped.isEmpty()) throw new FfwdException(file + ": --resume without the methods it ran (" + String.join(", ", dropped)
                        + "); a resume may add methods, not drop them: rerun with them or use --overwrite");
                for (var it = before.path(VARIANTS).fields(); it.hasNext(); ) {
                    var v = it.next();
                    if (!v.getValue().equals(now.path(VARIANTS).get(v.getKey())))
                        throw new FfwdException(file + ": --resume drops or changes the FF mode it ran (" + v.getKey()
                                + "); a resume may add modes, not drop or change them: rerun with it as it was or use --overwrite");
                }
                if (now.path(RESEEDS).asInt(0) < before.path(RESEEDS).asInt(0))
                    throw new FfwdException(file + ": --resume with fewer --reseeds (" + now.path(RESEEDS).asInt(0) + ") than it ran ("
                            + before.path(RESEEDS).asInt(0) + "); rerun with them or use --overwrite");
            }
            return text;
        } catch (IOException e) {
            throw new FfwdException(file + ": " + e.getMessage());
        }
    }

    /** The first field of {@code now} whose value {@code before} does not hold (or one only {@code before} has), else null. */
    private static String differs(ObjectNode before, ObjectNode now) {
        if (before.equals(now)) return null;
        for (var it = now.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!now.get(f).equals(before.get(f))) return f;
        }
        for (var it = before.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!now.has(f)) return f;
        }
        return "";
    }

    private static void write(Path file, String text) {
        try {
            AtomicFiles.writeString(file, text);
        } catch (IOException e) {
            throw new FfwdException(file + ": " + e.getMessage());
        }
    }
}
