package dev.ffwd.cli;

import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Outputs are never silently overwritten, and a file is never taken for a folder or a folder for a file. */
final class OutputDir {
    private OutputDir() {}

    static Path prepare(Path dir, boolean overwrite, boolean resume) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new FfwdException(dir + ": is a file; --out takes a folder");
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

    /** Checks that an output file may be written at {@code out}: not a folder, and not replaced without --overwrite. */
    static void checkFile(Path out, boolean overwrite) {
        if (Files.isDirectory(out)) throw new FfwdException(out + ": is a folder; --out takes a file");
        if (Files.exists(out) && !overwrite) throw new FfwdException(out + ": file exists; pass --overwrite to replace it");
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
