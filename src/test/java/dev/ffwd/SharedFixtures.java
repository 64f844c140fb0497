package dev.ffwd;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The read-only test data in ../shared (override with -Dffwd.shared=DIR or FFWD_SHARED). Tests that need it are
 * skipped with a visible notice when it is absent, unless -Dffwd.requireShared=true (or FFWD_REQUIRE_SHARED=1),
 * as CI sets, in which case they fail.
 */
public final class SharedFixtures {

    private SharedFixtures() {}

    public static Path dir() {
        String p = System.getProperty("ffwd.shared", System.getenv().getOrDefault("FFWD_SHARED", "../shared"));
        Path dir = Path.of(p);
        if (!Files.isDirectory(dir.resolve("fixtures"))) {
            boolean required = Boolean.getBoolean("ffwd.requireShared") || "1".equals(System.getenv("FFWD_REQUIRE_SHARED"));
            if (required) throw new AssertionError("shared test data required but not found at " + dir.toAbsolutePath());
            System.err.println("NOTICE: skipping test: shared test data not found at " + dir.toAbsolutePath() + " (set -Dffwd.shared=DIR)");
            Assumptions.abort("shared test data not found at " + dir.toAbsolutePath());
        }
        return dir;
    }

    public static Path fixture(String name) {
        return dir().resolve("fixtures").resolve(name);
    }

    /**
     * A chat template written in words of the fixtures' 96-word vocabulary ("you" opens a user turn, "i" any other),
     * with their BOS {@code <s>} (id 2) and EOS {@code </s>} (id 3), so that rendered chats have known token ids.
     */
    public static final String WORD_CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}you{% else %}i{% endif %} "
            + "{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}i{% endif %}";
}
