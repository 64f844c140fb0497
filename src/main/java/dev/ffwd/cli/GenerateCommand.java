package dev.ffwd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.model.Eos;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Sampling;
import dev.ffwd.model.Scoring;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Set;

@Command(name = "generate", description = "Continue a prompt with a causal LM (KV cache; greedy or sampled; stops at the model's EOS).")
final class GenerateCommand implements Runnable {
    @Mixin ModelOption model;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", description = "Text to tokenize and continue.") String prompt;
        @Option(names = "--token-ids", split = ",", description = "Comma-separated prompt token ids.") long[] ids;
    }

    @Option(names = "--max-new-tokens", defaultValue = "32") int maxNew;
    @Option(names = "--greedy", description = "Always take the most likely token (same as --temperature 0).") boolean greedy;
    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy.") double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k most likely tokens (0 = all).") int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Sample from the smallest set of tokens with this much probability.") double topP;
    @Option(names = "--seed", defaultValue = "0") long seed;
    @Option(names = "--ignore-eos", description = "Generate --max-new-tokens tokens even past the end-of-sequence token.") boolean ignoreEos;
    @Option(names = "--no-cache", description = "Recompute the whole sequence for every token (slower; for checking the cache).") boolean noCache;
    @Option(names = "--json", description = "Print {\"generated_ids\": [...]}: the new token ids only.") boolean json;

    @Override
    public void run() {
        Sampling sampling = greedy ? Sampling.GREEDY : new Sampling(temperature, topK, topP);
        try (Pretrained p = Pretrained.load(model.model)) {
            long[] prompt = input.ids != null ? input.ids : p.tokenizer().encode(input.prompt);
            Set<Long> eos = ignoreEos ? Set.of() : Eos.of(p.dir());
            long[] out = Scoring.generate(p.model(), prompt, maxNew, sampling, seed, eos, !noCache);
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                Arrays.stream(out).forEach(o.putArray("generated_ids")::add);
                System.out.println(o);
            } else {
                long[] all = Arrays.copyOf(prompt, prompt.length + out.length);
                System.arraycopy(out, 0, all, prompt.length, out.length);
                System.out.println(p.tokenizer().decode(all));
            }
        }
    }
}
