package dev.ffwd.cli;

import dev.ffwd.FfwdException;
import dev.ffwd.gguf.GgufWriter;
import dev.ffwd.gguf.LoraToGguf;
import dev.ffwd.gguf.ModelToGguf;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.model.Pretrained;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

@Command(name = "export-gguf", description = {
        "Write a model or a LoRA adapter as GGUF for llama.cpp and Ollama.",
        "With --full: the whole model (the base, or the base with --adapter merged) as a GGUF model, as "
                + "llama.cpp's convert_hf_to_gguf.py lays it out (a causal LM whose family declares a llama.cpp layout; any other is an error listing those).",
        "Without: the PEFT adapter as a GGUF LoRA adapter (llama.cpp --lora, Ollama ADAPTER), as convert_lora_to_gguf.py "
                + "writes it, with an Ollama Modelfile beside it."})
final class ExportGgufCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin BaseCheckOption baseCheck;
    @Option(names = "--full", description = "Write the whole model (with --adapter merged, if given) instead of an adapter.") boolean full;
    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder (train's OUT/adapter); required without --full.") Path adapter;
    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "The GGUF file to write.") Path out;
    @Option(names = "--outtype", defaultValue = "f32", paramLabel = "TYPE", description = "Matrix type: f32, f16, bf16 or q8_0 (default: ${DEFAULT-VALUE}); "
            + "norms, biases and learned position tables stay f32; with q8_0 (blocks of 32 int8 values and an f16 scale), a matrix whose rows "
            + "are not a multiple of 32 values is written as f16, as llama.cpp's converter does. An adapter takes f32, f16 or bf16.") String outtype;
    @Option(names = "--base-gguf", paramLabel = "FILE.gguf", description = "Adapter export: the base model's GGUF, for the Modelfile's FROM line.") Path baseGguf;
    @Option(names = "--overwrite", description = "Replace an existing --out file (and Modelfile).") boolean overwrite;

    /** The Ollama recipe written beside an adapter: base model, then the adapter, both relative to the Modelfile when they can be. */
    static final String MODELFILE = "Modelfile";

    @Override
    public void run() {
        GgufWriter.TensorType type = switch (outtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgufWriter.TensorType.F32;
            case "f16" -> GgufWriter.TensorType.F16;
            case "bf16" -> GgufWriter.TensorType.BF16;
            case "q8_0" -> GgufWriter.TensorType.Q8_0;
            default -> throw new IllegalArgumentException("--outtype must be f32, f16, bf16 or q8_0, got '" + outtype + "'");
        };
        OutputDir.checkFile(out, overwrite);
        if (full) {
            if (baseGguf != null) throw new IllegalArgumentException("--base-gguf belongs to the adapter export; --full writes the model itself");
            ModelToGguf.Result r = ModelToGguf.export(Pretrained.resolve(model.model), adapter, out, type, baseCheck.allowOtherBase);
            System.out.printf(Locale.ROOT, "wrote %s: %d tensors, architecture %s%s, %s%n", out, r.tensors(), r.arch(),
                    r.merged() ? ", adapter merged" : "", type.name());
            return;
        }
        if (adapter == null) throw new IllegalArgumentException("--adapter is required without --full (to write the whole model, pass --full)");
        Path modelfile = out.toAbsolutePath().resolveSibling(MODELFILE);
        OutputDir.checkFile(modelfile, overwrite);
        LoraToGguf.Result r = LoraToGguf.export(Pretrained.resolve(model.model), adapter, out, type, baseCheck.allowOtherBase);
        try {
            AtomicFiles.writeString(modelfile, modelfile(modelfile.getParent(), baseGguf, out));
        } catch (IOException e) {
            throw new FfwdException(modelfile + ": cannot write: " + e.getMessage());
        }
        System.out.printf(Locale.ROOT, "wrote %s: %d adapted weights, architecture %s, alpha %s, %s; and %s%n", out, r.adaptedWeights(), r.arch(),
                r.alpha(), type.name(), modelfile);
    }

    /**
     * {@code FROM} the base model's GGUF and {@code ADAPTER} the adapter. Without --base-gguf the FROM line names a
     * placeholder that a comment explains: Ollama needs the base that the adapter was trained on, as GGUF.
     */
    static String modelfile(Path dir, Path baseGguf, Path adapterGguf) {
        String from = baseGguf == null ? "./base.gguf" : relative(dir, baseGguf);
        return (baseGguf == null ? "# the base model as GGUF, e.g. from: ffwd export-gguf --model DIR --full --out base.gguf\n" : "")
                + "FROM " + from + "\nADAPTER " + relative(dir, adapterGguf) + "\n";
    }

    private static String relative(Path dir, Path file) {
        Path abs = file.toAbsolutePath().normalize();
        return abs.startsWith(dir.toAbsolutePath().normalize()) ? "./" + dir.toAbsolutePath().normalize().relativize(abs) : abs.toString();
    }
}
