package dev.ffwd.cli;

import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Output folders are never silently overwritten. */
final class OutputDir {
    private OutputDir() {}

    static Path prepare(Path dir, boolean overwrite, boolean resume) {
        try {
            if (Files.isDirectory(dir) && !resume && !overwrite) {
                try (Stream<Path> s = Files.list(dir)) {
                    if (s.findAny().isPresent())
                        throw new FfwdException(dir + ": output folder is not empty; pass --overwrite to replace it, or --resume to continue");
                }
            }
            Files.createDirectories(dir);
            return dir;
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot create output folder: " + e.getMessage());
        }
    }

    /** Deletes {@code dir} if it exists and is empty (after a run that failed before writing anything). */
    static void removeIfEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isEmpty()) Files.delete(dir);
        } catch (IOException e) {
            // best effort: the run's own error is what the user needs to see
        }
    }
}
