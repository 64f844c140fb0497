package dev.ffwd.cli;

import ai.djl.ndarray.NDArray;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.PeftAdapter;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.lora.Lora;
import dev.ffwd.model.Fp32;
import dev.ffwd.model.Pretrained;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

@Command(name = "merge", description = "Fold a PEFT LoRA adapter into the base weights; writes a full HF model folder (fp32).")
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
            if (!a.taskType().equals("CAUSAL_LM") && !a.modulesToSave().isEmpty())
                throw new dev.ffwd.FfwdException(adapter + ": a " + a.taskType() + " adapter with a trained head (" + String.join(", ", a.modulesToSave())
                        + "); merge writes the base architecture, which has no place for it, so the head would be lost. "
                        + "Use the adapter unmerged (predict, eval), or merge it in PEFT (merge_and_unload on the sequence-classification model)");
            Lora.load(p.model(), a.config(), a.tensors()).merge();
            List<RawTensor> tensors = new ArrayList<>();
            for (Map.Entry<String, NDArray> e : p.model().parameters().entrySet())
                try (Fp32 v = Fp32.of(e.getValue())) {  // the merged model is written in fp32, as config.json then says
                    tensors.add(RawTensor.ofFloats(e.getKey(), e.getValue().getShape().getShape(), v.array().toFloatArray()));
                }
            SafetensorsWriter.write(out.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            String cfg = Files.readString(p.dir().resolve("config.json")).replaceAll("\"torch_dtype\"\\s*:\\s*\"[a-z0-9]+\"", "\"torch_dtype\": \"float32\"");
            AtomicFiles.writeString(out.resolve("config.json"), cfg);
            AtomicFiles.write(out.resolve("tokenizer.json"), o -> Files.copy(p.dir().resolve("tokenizer.json"), o));
            System.out.printf("merged %d adapted layers into %s%n", a.tensors().names().size() / 2, out);
        } catch (IOException e) {
            throw new dev.ffwd.FfwdException(out + ": cannot write merged model: " + e.getMessage());
        }
    }
}
