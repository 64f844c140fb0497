package dev.ffwd.chat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the two Jinja2 constructs of real chat templates that Jinjava's expression parser reads differently, into
 * equivalents it reads as Jinja2 does; only inside {@code {{ }}} and {@code {% %}}, never in literal text. Qwen3's
 * template uses both.
 * <ul>
 *   <li>{@code seq[::-1]} (a reversing slice; Jinjava has no slice step) becomes {@code (seq|reverse|list)}.</li>
 *   <li>{@code namespace(a=x|length - 1)}: Jinjava parses a keyword argument at the precedence of {@code +}, as
 *       {@code (a=x|length) - 1}, so each keyword value of {@code namespace(...)} is put in parentheses.</li>
 * </ul>
 */
final class JinjaCompat {

    private static final Pattern TAG = Pattern.compile("\\{\\{.*?}}|\\{%.*?%}", Pattern.DOTALL);
    private static final Pattern REVERSED = Pattern.compile("([A-Za-z_][\\w.]*)\\[\\s*:\\s*:\\s*-1\\s*]");
    private static final Pattern NAMESPACE = Pattern.compile("\\bnamespace\\s*\\(");

    private JinjaCompat() {}

    static String rewrite(String template) {
        Matcher m = TAG.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String tag = REVERSED.matcher(m.group()).replaceAll("($1|reverse|list)");
            m.appendReplacement(out, Matcher.quoteReplacement(namespaceArguments(tag)));
        }
        return m.appendTail(out).toString();
    }

    /** Parenthesizes each {@code name=value} value of every {@code namespace(...)} call in one tag. */
    private static String namespaceArguments(String tag) {
        Matcher m = NAMESPACE.matcher(tag);
        if (!m.find()) return tag;
        StringBuilder out = new StringBuilder(tag.substring(0, m.end()));
        int i = m.end(), depth = 0, argStart = i;
        char quote = 0;
        for (; i < tag.length(); i++) {
            char c = tag.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if ((c == ',' || c == ')') && depth == 0) {
                out.append(keywordInParens(tag.substring(argStart, i))).append(c);
                argStart = i + 1;
                if (c == ')') break;
            } else if (c == ')' || c == ']' || c == '}') depth--;
        }
        if (i >= tag.length()) return tag;  // unbalanced: leave it to the parser's own error
        return out + namespaceArguments(tag.substring(i + 1));
    }

    private static final Pattern KEYWORD = Pattern.compile("(\\s*[A-Za-z_]\\w*\\s*=)(?!=)(.*)", Pattern.DOTALL);

    private static String keywordInParens(String arg) {
        Matcher m = KEYWORD.matcher(arg);
        return m.matches() && !m.group(2).isBlank() ? m.group(1) + "(" + m.group(2) + ")" : arg;
    }
}
