package dev.ffwd.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.ffwd.FfwdException;
import jinjava.javax.el.CompositeELResolver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A model's own chat format: the Jinja {@code chat_template} of its folder ({@value #JINJA_FILE}, else the
 * {@code chat_template} field of {@value #CONFIG}), rendered the way transformers' {@code apply_chat_template} renders
 * it: trim_blocks and lstrip_blocks, no trailing newline kept, the variables {@code messages},
 * {@code add_generation_prompt} and the special tokens of {@value #CONFIG} ({@code bos_token}, {@code eos_token}, …),
 * the function {@code raise_exception}, and Python's string methods. The rendered text already holds the model's
 * special tokens (BOS included), so it is tokenized without adding any.
 */
public final class ChatTemplate {

    public static final String CONFIG = "tokenizer_config.json";
    public static final String JINJA_FILE = "chat_template.jinja";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path source;
    private final String original, template;
    private final Map<String, String> namedTokens;
    private final Set<String> specialTokens;
    private final Jinjava jinja;

    private ChatTemplate(Path source, String template, Map<String, String> namedTokens, Set<String> specialTokens) {
        this.source = source;
        this.original = template;
        // Jinja2 drops one newline at the end of the template source (keep_trailing_newline=False)
        this.template = JinjaCompat.rewrite(template.endsWith("\r\n") ? template.substring(0, template.length() - 2)
                : template.endsWith("\n") ? template.substring(0, template.length() - 1) : template);
        this.namedTokens = Map.copyOf(namedTokens);
        this.specialTokens = Set.copyOf(specialTokens);
        CompositeELResolver resolvers = new CompositeELResolver();
        resolvers.add(new PythonStrings());  // first, so that split() is Python's and not java.lang.String's regex split
        resolvers.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        this.jinja = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolvers)
                // Jinja2's rules, which Jinjava keeps behind these switches: `a + b | trim` filters b alone,
                // and `{{-` / `-}}` strip whitespace around expressions as well as around tags
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .build())
                .build());
        jinja.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    /**
     * A template given directly, with its named tokens ({@code bos_token} → {@code "<s>"}), which are also taken as its
     * special tokens; {@code source} only names it in error messages.
     */
    public static ChatTemplate of(String template, Map<String, String> namedTokens, Path source) {
        return new ChatTemplate(source, template, namedTokens, Set.copyOf(namedTokens.values()));
    }

    /** The chat template of a model folder; an error naming the file when the folder has none. */
    public static ChatTemplate load(Path modelDir) {
        return find(modelDir).orElseThrow(() -> new FfwdException(modelDir.resolve(CONFIG)
                + ": no chat_template (neither this file nor " + JINJA_FILE + " has one), so the model has no chat format to render"));
    }

    /** The chat template of a model folder, or empty when it has none (a base model). */
    public static Optional<ChatTemplate> find(Path modelDir) {
        Path config = modelDir.resolve(CONFIG), jinjaFile = modelDir.resolve(JINJA_FILE);
        JsonNode cfg = JSON.missingNode();
        if (Files.isRegularFile(config)) {
            try {
                cfg = JSON.readTree(config.toFile());
            } catch (IOException e) {
                throw new FfwdException(config + ": invalid JSON: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
            }
        }
        Map<String, String> tokens = new HashMap<>();
        cfg.fields().forEachRemaining(f -> {
            String token = tokenText(f.getValue());
            if (f.getKey().endsWith("_token") && token != null) tokens.put(f.getKey(), token);
        });
        Set<String> specials = new HashSet<>(tokens.values());
        cfg.path("added_tokens_decoder").forEach(t -> {
            if (t.path("special").asBoolean(false) && tokenText(t) != null) specials.add(tokenText(t));
        });
        cfg.path("additional_special_tokens").forEach(t -> {
            if (tokenText(t) != null) specials.add(tokenText(t));
        });
        if (Files.isRegularFile(jinjaFile)) {
            try {
                return Optional.of(new ChatTemplate(jinjaFile, Files.readString(jinjaFile), tokens, specials));
            } catch (IOException e) {
                throw new FfwdException(jinjaFile + ": cannot read: " + e.getMessage());
            }
        }
        JsonNode t = cfg.path("chat_template");
        if (t.isMissingNode() || t.isNull()) return Optional.empty();
        if (t.isTextual()) return Optional.of(new ChatTemplate(config, t.asText(), tokens, specials));
        if (t.isArray()) {  // named templates [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
            for (JsonNode named : t)
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual())
                    return Optional.of(new ChatTemplate(config, named.path("template").asText(), tokens, specials));
            throw new FfwdException(config + ": chat_template is a list without a template named \"default\"");
        }
        throw new FfwdException(config + ": chat_template must be a string or a list of named templates, got " + t.getNodeType().toString().toLowerCase());
    }

    /** A token as tokenizer_config.json writes it: a plain string, or an AddedToken object {"content": ...}; else null. */
    private static String tokenText(JsonNode v) {
        return v.isTextual() ? v.asText() : v.path("content").isTextual() ? v.path("content").asText() : null;
    }

    /** The file the template came from. */
    public Path source() {
        return source;
    }

    /** The conversation as the model's prompt text; with {@code addGenerationPrompt} it ends where the assistant's reply begins. */
    /** The Jinja source as the model folder gives it, before the rewrites for Jinjava (GGUF's tokenizer.chat_template carries it so). */
    public String original() {
        return original;
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** With extra template variables, as transformers passes extra keyword arguments (Qwen3's {@code enable_thinking}). */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> variables) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            msgs.add(o);
        }
        Map<String, Object> vars = new HashMap<>(namedTokens);
        vars.putAll(variables);
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r = jinja.renderForResult(template, vars);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() != TemplateError.ErrorType.FATAL) continue;
            for (Throwable c = e.getException(); c != null; c = c.getCause())
                if (c instanceof Raised raised) throw new FfwdException(source + ": chat_template: " + raised.getMessage());
            throw new FfwdException(source + ": chat_template line " + e.getLineno() + ": " + e.getMessage());
        }
        return r.getOutput();
    }

    /** A stretch of a rendered conversation; {@code assistant} marks an assistant turn, its end-of-turn token included. */
    public record Part(String text, boolean assistant) {}

    /**
     * The whole conversation rendered (no generation prompt) and cut into parts, so that training can put the loss on
     * the assistant turns only. An assistant turn starts where the conversation before it, rendered with the generation
     * prompt, ends, and runs through its content and the end-of-turn text: what the template writes after the content
     * when that turn is the last, as far as the whole rendering agrees, cut after its first special token
     * ({@code <|im_end|>}, {@code <|eot_id|>}, {@code <|end|>}, {@code <end_of_turn>}), so that the model learns to
     * end its turn but not to start the next one.
     */
    public List<Part> renderParts(List<Message> messages) {
        String full = render(messages, false);
        List<Part> parts = new ArrayList<>();
        int cursor = 0;
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) continue;
            String content = messages.get(i).content().strip();  // templates that trim the content still contain it stripped
            int start = cursor;
            if (i > 0) {
                String before = render(messages.subList(0, i), true);
                if (full.startsWith(before) && before.length() >= cursor) start = before.length();
            }
            int at = full.indexOf(content, start);
            if (at < 0)
                throw new FfwdException(source + ": chat_template: the rendered conversation does not contain message " + i + " (assistant) at its place");
            String alone = render(messages.subList(0, i + 1), false);
            int inAlone = alone.lastIndexOf(content);
            String after = inAlone < 0 ? "" : alone.substring(inAlone + content.length());
            String agreed = after.substring(0, commonPrefix(full, at + content.length(), after));
            int end = at + content.length() + throughFirstSpecial(agreed);
            parts.add(new Part(full.substring(cursor, start), false));
            parts.add(new Part(full.substring(start, end), true));
            cursor = end;
        }
        parts.add(new Part(full.substring(cursor), false));
        parts.removeIf(p -> p.text().isEmpty());
        return parts;
    }

    /** The length of {@code s} up to the end of its first special token (the longest one at that place), or all of it. */
    private int throughFirstSpecial(String s) {
        for (int i = 0; i < s.length(); i++) {
            int longest = 0;
            for (String t : specialTokens) if (t.length() > longest && s.startsWith(t, i)) longest = t.length();
            if (longest > 0) return i + longest;
        }
        return s.length();
    }

    private static int commonPrefix(String s, int from, String t) {
        int n = 0;
        while (n < t.length() && from + n < s.length() && s.charAt(from + n) == t.charAt(n)) n++;
        return n;
    }

    /** {@code raise_exception(message)}, as transformers defines it for templates: rendering fails with that message. */
    public static String raiseException(String message) {
        throw new Raised(message);
    }

    private static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message, null, false, false);
        }
    }
}
