package dev.ffwd;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real datasets made by scripts/fetch-data.sh (default ./data, or FFWD_DATA). Tests that need them are skipped
 * with a visible notice when absent, unless FFWD_REQUIRE_DATA=1 (CI), in which case they fail.
 */
public final class RealData {
    private RealData() {}

    public static Path file(String name) {
        Path f = Path.of(System.getenv().getOrDefault("FFWD_DATA", "data"), name);
        if (!Files.isRegularFile(f)) {
            if ("1".equals(System.getenv("FFWD_REQUIRE_DATA"))) throw new AssertionError(f.toAbsolutePath() + " required; run scripts/fetch-data.sh");
            System.err.println("NOTICE: skipping test: " + f.toAbsolutePath() + " not found (run scripts/fetch-data.sh)");
            Assumptions.abort(f + " not found");
        }
        return f;
    }
}
