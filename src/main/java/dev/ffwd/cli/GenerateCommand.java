package dev.ffwd.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.chat.ChatTemplate;
import dev.ffwd.chat.Message;
import dev.ffwd.model.Eos;
import dev.ffwd.model.Pretrained;
import dev.ffwd.model.Sampling;
import dev.ffwd.model.Scoring;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

@Command(name = "generate", description = "Continue a prompt with a causal LM (KV cache; greedy or sampled; stops at the model's EOS), or answer it in the model's chat format (--chat).")
final class GenerateCommand implements Runnable {
    @Mixin ModelOption model;
    @Mixin AdapterOption adapter;

    @ArgGroup(multiplicity = "1")
    PromptInput input;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).") int maxNew;
    @Option(names = "--greedy", description = "Always take the most likely token (same as --temperature 0).") boolean greedy;
    @Option(names = "--temperature", defaultValue = "0.8", description = "Softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE}).") double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k most likely tokens, 0 = all (default: ${DEFAULT-VALUE}).") int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Sample from the smallest set of tokens with this much probability (default: ${DEFAULT-VALUE}).") double topP;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the sampler (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--ignore-eos", description = "Generate --max-new-tokens tokens even past the end-of-sequence token.") boolean ignoreEos;
    @Option(names = "--no-cache", description = "Recompute the whole sequence for every token (slower; for checking the cache).") boolean noCache;
    @Option(names = "--json", description = "Print {\"generated_ids\": [...]}: the new token ids only.") boolean json;
    @Option(names = "--chat", description = "Treat --prompt as the user's message: render it in the model's chat_template "
            + "(tokenizer_config.json) with the generation prompt, and print only the reply.") boolean chat;
    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the user's.") String system;
    @Option(names = "--template-var", paramLabel = "KEY=VALUE", description = "With --chat: a template variable, e.g. enable_thinking=false "
            + "(VALUE is read as JSON when it parses, else as a string); repeatable.") Map<String, String> templateVars = new LinkedHashMap<>();

    @Override
    public void run() {
        Sampling sampling = greedy ? Sampling.GREEDY : new Sampling(temperature, topK, topP);
        if (!chat && (system != null || !templateVars.isEmpty())) throw new IllegalArgumentException("--system and --template-var need --chat");
        if (chat && input.ids != null) throw new IllegalArgumentException("--chat needs --prompt (the user's message), not --token-ids");
        try (Pretrained p = Pretrained.load(model.model)) {
            adapter.apply(p);
            long[] prompt = input.ids != null ? input.ids
                    : chat ? p.tokenizer().encode(chatPrompt(ChatTemplate.load(p.dir())), false)  // the template wrote the special tokens
                    : p.tokenizer().encode(input.text);
            Set<Long> eos = ignoreEos ? Set.of() : Eos.of(p.dir());
            long[] out = Scoring.generate(p.model(), prompt, maxNew, sampling, seed, eos, !noCache);
            int limit = p.model().config.maxPositions();
            if (out.length < maxNew && prompt.length + out.length >= limit && (out.length == 0 || !eos.contains(out[out.length - 1])))
                System.err.printf("ffwd: note: stopped after %d of %d new tokens at the model's context limit of %d positions%n",
                        out.length, maxNew, limit);
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                Arrays.stream(out).forEach(o.putArray("generated_ids")::add);
                System.out.println(o);
            } else if (chat) {
                System.out.println(p.tokenizer().decode(out));
            } else {
                long[] all = Arrays.copyOf(prompt, prompt.length + out.length);
                System.arraycopy(out, 0, all, prompt.length, out.length);
                System.out.println(p.tokenizer().decode(all));
            }
        }
    }

    private String chatPrompt(ChatTemplate template) {
        List<Message> messages = new ArrayList<>();
        if (system != null) messages.add(Message.system(system));
        messages.add(Message.user(input.text));
        Map<String, Object> vars = new LinkedHashMap<>();
        templateVars.forEach((k, v) -> vars.put(k, jsonOrString(v)));
        return template.render(messages, true, vars);
    }

    private static Object jsonOrString(String v) {
        try {
            return new ObjectMapper().readValue(v, Object.class);
        } catch (JsonProcessingException e) {
            return v;
        }
    }
}
