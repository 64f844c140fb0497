package dev.ffwd.cli;

import dev.ffwd.train.FineTune;
import dev.ffwd.train.History;
import dev.ffwd.train.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;

@Command(name = "train", description = "LoRA fine-tuning; writes a PEFT adapter to OUT/adapter and checkpoints to OUT.")
final class TrainCommand implements Runnable {
    @Mixin TrainOptions opts;
    @Option(names = "--out", required = true, paramLabel = "DIR") Path out;
    @Option(names = "--resume", description = "Continue from OUT/checkpoint.safetensors.") boolean resume;
    @Option(names = "--overwrite", description = "Replace a non-empty OUT.") boolean overwrite;
    @Option(names = "--ff", description = "Enable Fast Forward stages.") boolean ff;

    @Override
    public void run() {
        OutputDir.prepare(out, overwrite, resume);
        try (FineTune ft = FineTune.prepare(opts.options()); Progress progress = new Progress(ft.options.train().maxSteps())) {
            System.err.printf("data: %d train, %d test, %d validation examples%s%n", ft.splits.train().size(), ft.splits.test().size(),
                    ft.splits.validation().size(), ft.truncated > 0 ? " (" + ft.truncated + " truncated to --max-length)" : "");
            TrainingRun run = ft.newRun(opts.ff(ff), out.resolve("checkpoint.safetensors"));
            if (resume && run.resume()) System.err.printf("resumed at step %d%n", run.trainer().steps());
            progress.onArmStart("train", ft.options.train().maxSteps());
            run.run(TrainingRun.StopRule.budget(), progress);
            progress.close();
            ft.saveAdapter(out.resolve("adapter"));
            History h = run.history();
            System.out.printf(Locale.ROOT, "steps %d, test loss %.4f (best %.4f), %d FF stages, %.1f s train+FF, adapter: %s%n",
                    run.trainer().steps(), h.lastTestLoss(), h.bestTestLoss(), h.stages.size(),
                    run.trainer().ledger().wallSeconds(), out.resolve("adapter"));
        }
    }
}
