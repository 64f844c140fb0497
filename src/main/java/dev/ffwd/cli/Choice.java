package dev.ffwd.cli;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** A command-line value that names an enum constant, case-insensitively; a wrong one lists the choices. */
final class Choice {

    private Choice() {}

    static <E extends Enum<E>> E of(Class<E> type, String value, String option) {
        String v = value == null ? "" : value.trim();
        for (E e : type.getEnumConstants()) if (e.name().equalsIgnoreCase(v)) return e;
        throw new IllegalArgumentException(option + ": unknown value '" + v + "'; choose one of "
                + Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }
}
