package dev.ffwd.cli;

import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Scoring;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;

@Command(name = "generate", description = "Continue a prompt with a causal LM.")
final class GenerateCommand implements Runnable {
    @Mixin ModelOption model;
    @Option(names = "--prompt", required = true) String prompt;
    @Option(names = "--max-new-tokens", defaultValue = "32") int maxNew;
    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy.") double temperature;
    @Option(names = "--seed", defaultValue = "0") long seed;

    @Override
    public void run() {
        try (Pretrained p = Pretrained.load(model.model)) {
            long[] prompt = p.tokenizer().encode(this.prompt);
            long[] out = Scoring.generate(p.model(), prompt, maxNew, temperature, seed, -1);
            System.out.println(p.tokenizer().decode(Arrays.copyOfRange(out, 0, out.length)));
        }
    }
}
