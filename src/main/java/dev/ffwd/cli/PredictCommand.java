package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.train.Predictor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

@Command(name = "predict", description = {"Classify the texts of a JSONL file with a classification adapter, or with a merged classifier folder (merge).",
        "Prints (or writes to --out) one JSON object per record: {\"line\", \"label\", \"probabilities\": {label: p}}."})
final class PredictCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin BaseCheckOption baseCheck;
    @Option(names = "--adapter", paramLabel = "DIR", description = "Classification adapter folder (train's OUT/adapter); omit when --model is a merged classifier.") Path adapter;
    @Option(names = "--data", required = true, paramLabel = "FILE.jsonl", description = "Records with a \"text\" field (other fields are ignored); '-' reads standard input.") Path data;
    @Option(names = "--out", paramLabel = "FILE.jsonl", description = "Write the predictions here instead of standard output.") Path out;
    @Option(names = "--overwrite", description = "Replace an existing --out file.") boolean overwrite;
    @Option(names = "--max-length", paramLabel = "N", description = "Truncate inputs to N tokens (default: the length the adapter was trained with).") Integer maxLength;
    @Option(names = "--batch-size", defaultValue = "32", description = "Texts per forward pass (default: ${DEFAULT-VALUE}).") int batchSize;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void run() {
        if (out != null) OutputDir.checkFile(out, overwrite);
        try (Predictor p = Predictor.load(model.model, adapter, maxLength, batchSize, baseCheck.allowOtherBase)) {
            if (p.head == null) throw new FfwdException(adapter != null
                    ? adapter + ": not a classification adapter (task_type is not SEQ_CLS); score and generate take it with --adapter"
                    : p.pretrained.dir() + ": not a classifier; pass its classification adapter with --adapter (or merge one into a folder)");
            List<String> labels = p.head.labels();
            StringBuilder lines = new StringBuilder();
            for (Predictor.Prediction pr : p.predict(DataFile.resolve(data))) {
                ObjectNode o = JSON.createObjectNode();
                o.put("line", pr.line());
                o.put("label", labels.get(pr.label()));
                ObjectNode probs = o.putObject("probabilities");
                for (int c = 0; c < labels.size(); c++) probs.put(labels.get(c), pr.probabilities()[c]);
                lines.append(o).append('\n');
            }
            if (out == null) System.out.print(lines);
            else {
                AtomicFiles.writeString(out, lines.toString());
                System.err.println("wrote " + lines.chars().filter(ch -> ch == '\n').count() + " predictions to " + out);
            }
        } catch (IOException e) {
            throw new FfwdException(out + ": cannot write predictions: " + e.getMessage());
        }
    }
}
