package dev.ffwd.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A training run's outputs, as {@code ffwd train} writes them. At each evaluation: a line in OUT/metrics.jsonl (with the test accuracy and macro-F1 of a classifier) (the whole file is
 * rewritten atomically), and OUT/adapter replaced when the test loss is the best so far. Runs before the checkpoint
 * of the same step is written, so a resumed run finds every checkpointed evaluation's adapter and metrics on disk.
 */
public final class RunRecorder implements TrainingRun.Listener {
    /** What a run writes in its output folder: metrics, the best adapter, the last one. */
    public static final String METRICS = "metrics.jsonl", BEST = "adapter", LAST = "adapter-last";

    private static final ObjectMapper JSON = new ObjectMapper();
    private final FineTune ft;
    private final TrainingRun run;
    private final Path out, file;
    private final List<ObjectNode> rows = new ArrayList<>();

    /** {@code resumedAt}: the step a resumed run continues from (metrics up to it are kept), or -1 for a fresh run. */
    public RunRecorder(FineTune ft, TrainingRun run, Path out, long resumedAt) {
        this.ft = ft;
        this.run = run;
        this.out = out;
        this.file = out.resolve(METRICS);
        if (resumedAt >= 0) removeStaleTemporaries(out);
        if (resumedAt >= 0 && Files.isRegularFile(file)) {
            int lineNo = 0;
            try {
                for (String line : Files.readAllLines(file)) {
                    lineNo++;
                    if (line.isBlank()) continue;
                    JsonNode n = JSON.readTree(line);
                    if (!(n instanceof ObjectNode row) || !n.path("step").canConvertToLong())
                        throw new FfwdException(file + ":" + lineNo + ": expected a JSON object with a \"step\"");
                    if (row.get("step").asLong() <= resumedAt) rows.add(row);
                }
            } catch (IOException e) {
                throw new FfwdException(file + ":" + (lineNo + 1) + ": cannot read metrics: " + e.getMessage().lines().findFirst().orElse(""));
            }
        }
    }

    /** Temporary files of writes that a killed run left unfinished (the checkpoint's are removed by the run itself). */
    private static void removeStaleTemporaries(Path out) {
        try {
            AtomicFiles.removeStale(out.resolve(METRICS));
            for (String dir : List.of(BEST, LAST))
                for (String f : List.of("adapter_model.safetensors", "adapter_config.json", "ffwd_classifier.json"))
                    AtomicFiles.removeStale(out.resolve(dir).resolve(f));
        } catch (IOException e) {
            throw new FfwdException(out + ": cannot remove stale temporary files: " + e.getMessage());
        }
    }

    @Override
    public void onEval(History.Point p) {
        ObjectNode row = JSON.createObjectNode();
        row.put("step", p.step());
        if (Double.isFinite(p.trainLoss())) row.put("train_loss", p.trainLoss());
        else row.putNull("train_loss");
        row.put("test_loss", p.testLoss());
        row.put("flops_paper", p.flopsPaper());
        row.put("flops_exact", p.flopsExact());
        row.put("wall_seconds", p.wallSeconds());
        if (p.accuracy() != null) row.put("accuracy", p.accuracy());
        if (p.macroF1() != null) row.put("macro_f1", p.macroF1());
        rows.removeIf(r -> r.get("step").asLong() >= p.step());
        rows.add(row);
        StringBuilder b = new StringBuilder();
        rows.forEach(r -> b.append(r).append('\n'));
        try {
            AtomicFiles.writeString(file, b.toString());
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot write metrics: " + e.getMessage());
        }
        List<History.Point> pts = run.history().points;
        double bestBefore = pts.subList(0, pts.size() - 1).stream().mapToDouble(History.Point::testLoss).min().orElse(Double.POSITIVE_INFINITY);
        if (p.testLoss() < bestBefore) ft.saveAdapter(out.resolve(BEST));
    }
}
