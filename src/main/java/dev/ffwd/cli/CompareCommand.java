package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.report.ComparisonReport;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.FineTune;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

@Command(name = "compare", description = "Plain LoRA vs. Fast Forward at equal test loss; writes report.json, report.md and plots.")
class CompareCommand implements Runnable {
    @Mixin TrainOptions opts;
    @Option(names = "--out", defaultValue = "runs/compare", paramLabel = "DIR") Path out;
    @Option(names = "--overwrite", arity = "0..1", description = "Replace a non-empty OUT.") boolean overwrite;
    @Option(names = "--modes", split = ",", defaultValue = "paper", description = "FF modes to run: paper, revert, search.") List<String> modes;
    @Option(names = "--patience", defaultValue = "3", description = "Baseline stops after this many evaluations without improvement.") int patience;

    @Override
    public void run() {
        OutputDir.prepare(out, overwrite, false);
        FineTune.Options o = opts.options();
        try (FineTune ft = FineTune.prepare(o); Progress progress = new Progress(ft.options.train().maxSteps())) {
            System.err.printf("data: %d train, %d test, %d validation examples; target modules %s%n", ft.splits.train().size(),
                    ft.splits.test().size(), ft.splits.validation().size(), o.lora().targets());
            List<FfConfig.Mode> ms = modes.stream().map(m -> FfConfig.Mode.valueOf(m.trim().toUpperCase())).distinct().toList();
            Comparison.Result r = Comparison.run(ft, opts.ff(true), ms, patience, progress);
            ObjectNode cfg = new ObjectMapper().valueToTree(ft.options);
            cfg.set("fast_forward", new ObjectMapper().valueToTree(opts.ff(true)));
            cfg.put("patience", patience);
            ComparisonReport.write(out, r, cfg);
            System.out.print(ComparisonReport.markdown(r).lines().filter(l -> l.startsWith("|") || l.startsWith("Target"))
                    .reduce("", (a, b) -> a + b + "\n"));
            System.out.println("report: " + out.resolve("report.md"));
        }
    }
}
