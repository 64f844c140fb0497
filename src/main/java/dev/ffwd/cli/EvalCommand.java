package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.data.Format;
import dev.ffwd.train.Metrics;
import dev.ffwd.train.Predictor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;

@Command(name = "eval", description = {"Evaluate on a JSONL file: loss, accuracy and macro-F1 for a classification adapter;",
        "loss and perplexity (per target token) for a language model, with or without an adapter."})
final class EvalCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin BaseCheckOption baseCheck;
    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder (train's OUT/adapter); omit to evaluate the base model.") Path adapter;
    @Option(names = "--data", required = true, paramLabel = "FILE.jsonl", description = "Labelled data: {\"text\", \"label\"} for a classifier, else in --format; '-' reads standard input.") Path data;
    @Option(names = "--format", paramLabel = "FORMAT", description = "text | instruction | chat | classification (default: classification for a classification adapter, else text).") String format;
    @Option(names = "--max-length", paramLabel = "N", description = "Truncate examples to N tokens (default: the classifier's training length, else 128).") Integer maxLength;
    @Option(names = "--batch-size", defaultValue = "32", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).") int batchSize;
    @Option(names = "--json", description = "Print the metrics as one JSON object.") boolean json;

    @Override
    public void run() {
        try (Predictor p = Predictor.load(model.model, adapter, maxLength, batchSize, baseCheck.allowOtherBase)) {
            Format f = format != null ? Format.parse(format) : p.head != null ? Format.CLASSIFICATION : Format.TEXT;
            Metrics m = p.evaluate(DataFile.resolve(data), f);
            ObjectNode o = new ObjectMapper().createObjectNode();
            if (m instanceof Metrics.Classification c) {
                o.put("examples", c.examples()).put("loss", c.loss()).put("accuracy", c.accuracy()).put("macro_f1", c.macroF1());
                if (!json) System.out.printf(Locale.ROOT, "%d examples: loss %.4f, accuracy %.4f, macro-F1 %.4f%n",
                        c.examples(), c.loss(), c.accuracy(), c.macroF1());
            } else if (m instanceof Metrics.Text t) {
                o.put("examples", t.examples()).put("tokens", t.tokens()).put("loss", t.loss()).put("perplexity", t.perplexity());
                if (!json) System.out.printf(Locale.ROOT, "%d examples, %d target tokens: loss %.4f, perplexity %.3f%n",
                        t.examples(), t.tokens(), t.loss(), t.perplexity());
            }
            if (json) System.out.println(o);
        }
    }
}
