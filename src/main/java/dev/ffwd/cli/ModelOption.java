package dev.ffwd.cli;

import dev.ffwd.model.Pretrained;
import picocli.CommandLine.Option;

/** --model: a Hugging Face folder, or "builtin" for the embedded all-MiniLM-L6-v2. */
final class ModelOption {
    @Option(names = {"-m", "--model"}, defaultValue = Pretrained.BUILTIN, paramLabel = "DIR",
            description = "Hugging Face model folder (config.json, *.safetensors, tokenizer.json), or 'builtin' (default).")
    String model;
}
