package dev.ffwd;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** docs/reliability.md names the test behind each promise: every test class and method it names exists. */
class ReliabilityDocTest {

    @Test
    void everyTestThePageCitesExists() throws IOException {
        String page = Files.readString(Path.of("docs/reliability.md"));
        Matcher m = Pattern.compile("`([A-Z][A-Za-z]*Test)(?:\\.([a-z][A-Za-z]*))?`").matcher(page);
        List<String> missing = new ArrayList<>();
        int cited = 0;
        while (m.find()) {
            cited++;
            Path source;
            try (Stream<Path> s = Files.walk(Path.of("src/test/java"))) {
                source = s.filter(p -> p.getFileName().toString().equals(m.group(1) + ".java")).findFirst().orElse(null);
            }
            if (source == null) missing.add(m.group(1));
            else if (m.group(2) != null && !Files.readString(source).contains("void " + m.group(2) + "("))
                missing.add(m.group(1) + "." + m.group(2));
        }
        assertTrue(cited >= 10, "the page cites " + cited + " tests");
        assertEquals(List.of(), missing, "docs/reliability.md cites tests that do not exist");
    }
}
