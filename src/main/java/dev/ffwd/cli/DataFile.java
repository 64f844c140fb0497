package dev.ffwd.cli;

import dev.ffwd.FfwdException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code --data} as given: a file; {@code -} for standard input; or a pipe ({@code <(...)}, /dev/fd/N). Data is read
 * more than once (records, then its digest for the checkpoint), so a stream is first copied to a temporary file, which
 * is removed when the JVM exits.
 */
final class DataFile {

    private DataFile() {}

    static Path resolve(Path given) {
        if (given == null) return null;
        boolean stdin = given.toString().equals("-");
        if (!stdin && (!Files.exists(given) || Files.isRegularFile(given) || Files.isDirectory(given))) return given;
        try (InputStream in = stdin ? System.in : Files.newInputStream(given)) {
            Path copy = Files.createTempFile("ffwd-data-", ".jsonl");
            copy.toFile().deleteOnExit();
            Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            return copy;
        } catch (IOException e) {
            throw new FfwdException((stdin ? "standard input" : given.toString()) + ": cannot read data: " + e.getMessage());
        }
    }
}
