package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import dev.ffwd.gguf.GgufWriter;
import dev.ffwd.gguf.LoraToGguf;
import dev.ffwd.model.Pretrained;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

@Command(name = "export-gguf", description = "Write a PEFT LoRA adapter as a GGUF LoRA adapter for llama.cpp (--lora) and Ollama (ADAPTER), "
        + "as llama.cpp's convert_lora_to_gguf.py does. The base model must be a causal LM that llama.cpp supports; use it "
        + "converted to GGUF from the same Hugging Face folder.")
final class ExportGgufCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin BaseCheckOption baseCheck;
    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter folder (train's OUT/adapter).") Path adapter;
    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "The GGUF file to write.") Path out;
    @Option(names = "--outtype", defaultValue = "f32", paramLabel = "TYPE", description = "Tensor type: f32 or f16 (default: ${DEFAULT-VALUE}).") String outtype;
    @Option(names = "--overwrite", description = "Replace an existing --out file.") boolean overwrite;

    @Override
    public void run() {
        GgufWriter.TensorType type = switch (outtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgufWriter.TensorType.F32;
            case "f16" -> GgufWriter.TensorType.F16;
            default -> throw new IllegalArgumentException("--outtype must be f32 or f16, got '" + outtype + "'");
        };
        if (Files.exists(out) && !overwrite) throw new FfwdException(out + ": file exists; pass --overwrite to replace it");
        LoraToGguf.Result r = LoraToGguf.export(Pretrained.resolve(model.model), adapter, out, type, baseCheck.allowOtherBase);
        System.out.printf(Locale.ROOT, "wrote %s: %d adapted weights, architecture %s, alpha %s, %s%n", out, r.adaptedWeights(), r.arch(),
                r.alpha(), type.name());
    }
}
