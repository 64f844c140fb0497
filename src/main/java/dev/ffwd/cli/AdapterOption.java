package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Pretrained;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --adapter for the causal-LM commands (score, generate): a CAUSAL_LM adapter applied unmerged. */
final class AdapterOption {
    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter folder (train's OUT/adapter), applied "
            + "unmerged; omit for the base model.") Path adapter;
    @Mixin BaseCheckOption baseCheck;

    /** Attaches the adapter, if one was given, to {@code p}'s model. */
    void apply(Pretrained p) {
        if (adapter == null) return;
        try (PeftAdapter.Loaded a = PeftAdapter.load(adapter)) {
            if (!a.taskType().equals("CAUSAL_LM"))
                throw new FfwdException(adapter + ": a " + a.taskType() + " adapter; score and generate take a CAUSAL_LM adapter (predict and eval take the others)");
            a.requireBase(p.dir(), p.model().config.modelType(), baseCheck.allowOtherBase);
            Lora.load(p.model(), a.config(), a.tensors());
        }
    }
}
