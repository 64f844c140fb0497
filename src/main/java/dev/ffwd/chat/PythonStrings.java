package dev.ffwd.chat;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The Python {@code str} methods that chat templates call ({@code content.strip()}, {@code .split('</think>')},
 * {@code .startswith(...)}): transformers renders templates with Python's Jinja2, where strings are Python strings,
 * while Jinjava's are Java strings, which lack these methods or (split) give them other meanings.
 * Resolves only method calls on strings; everything else falls through to Jinjava's own resolvers.
 */
final class PythonStrings extends ELResolver {

    private static final Set<String> METHODS = Set.of("strip", "lstrip", "rstrip", "split", "startswith", "endswith",
            "upper", "lower", "title", "capitalize", "replace", "join");

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name) || !METHODS.contains(name)) return null;
        Object[] a = params == null ? new Object[0] : params;
        Object result = switch (name) {
            case "strip" -> rstrip(lstrip(s, chars(a)), chars(a));
            case "lstrip" -> lstrip(s, chars(a));
            case "rstrip" -> rstrip(s, chars(a));
            case "split" -> split(s, a.length > 0 ? (String) a[0] : null, a.length > 1 ? ((Number) a[1]).intValue() : -1);
            case "startswith" -> affixes(a).stream().anyMatch(s::startsWith);
            case "endswith" -> affixes(a).stream().anyMatch(s::endsWith);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> replace(s, (String) a[0], (String) a[1], a.length > 2 ? ((Number) a[2]).intValue() : -1);
            case "join" -> join(s, (Iterable<?>) a[0]);
            default -> throw new IllegalStateException(name);
        };
        context.setPropertyResolved(true);
        return result;
    }

    /** The characters to strip: Python's default (null) is whitespace. */
    private static String chars(Object[] a) {
        return a.length > 0 && a[0] != null ? a[0].toString() : null;
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strippable(s.charAt(i), chars)) i++;
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strippable(s.charAt(j - 1), chars)) j--;
        return s.substring(0, j);
    }

    /** Python's split: on a literal separator keeping empty parts, or (no separator) on runs of whitespace dropping them. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            while (true) {
                while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
                if (i == s.length()) return out;
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(rstrip(s.substring(i), null));
                    return out;
                }
                int j = i;
                while (j < s.length() && !Character.isWhitespace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        for (int at; (maxSplit < 0 || out.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0; from = at + sep.length())
            out.add(s.substring(from, at));
        out.add(s.substring(from));
        return out;
    }

    private static List<String> affixes(Object[] a) {
        if (a[0] instanceof Iterable<?> it) {  // startswith(('a', 'b')) arrives as a list
            List<String> out = new ArrayList<>();
            it.forEach(x -> out.add(x.toString()));
            return out;
        }
        return List.of(a[0].toString());
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevLetter = false;
        for (char c : s.toCharArray()) {
            b.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return b.toString();
    }

    private static String replace(String s, String old, String by, int count) {
        if (count < 0) return s.replace(old, by);
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (int n = 0, at; n < count && !old.isEmpty() && (at = s.indexOf(old, from)) >= 0; n++, from = at + old.length())
            b.append(s, from, at).append(by);
        return b.append(s.substring(from)).toString();
    }

    private static String join(String sep, Iterable<?> parts) {
        StringJoiner j = new StringJoiner(sep);
        for (Object p : parts) j.add(String.valueOf(p));
        return j.toString();
    }

    // Not a property resolver: these leave every lookup to the next resolver.
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
