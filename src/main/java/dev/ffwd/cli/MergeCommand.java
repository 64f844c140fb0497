package dev.ffwd.cli;

import dev.ffwd.io.PeftAdapter;
import dev.ffwd.model.Pretrained;
import dev.ffwd.train.Merge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

@Command(name = "merge", description = "Fold a PEFT LoRA adapter into the base weights; writes a full HF model folder (fp32). A causal LM's "
        + "classification adapter gives its *ForSequenceClassification folder, with the head and labels.")
final class MergeCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin BaseCheckOption baseCheck;
    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT LoRA adapter folder (train's OUT/adapter).") Path adapter;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the merged model (must be empty unless --overwrite).") Path out;
    @Option(names = "--overwrite", description = "Replace a non-empty --out folder.") boolean overwrite;

    @Override
    public void run() {
        OutputDir.prepare(out, overwrite, false);
        try (Pretrained p = Pretrained.load(model.model); PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
            a.requireBase(p.dir(), p.model().config.modelType(), baseCheck.allowOtherBase);
            Merge.Result r = Merge.write(p, a, adapter, out);
            System.out.printf("merged %d adapted layers into %s (%s%s)%n", r.adaptedLayers(), out, r.architecture(),
                    r.head() == null ? "" : ", " + r.head().labels().size() + " classes");
        }
    }
}
