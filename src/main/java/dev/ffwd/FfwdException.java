package dev.ffwd;

/**
 * A user-facing failure: bad input, an inconsistent checkpoint, a diverged run.
 * The message is one line that names the file (and line, tensor or key) and the problem;
 * the CLI prints it without a stack trace unless {@code --debug} is given.
 */
public class FfwdException extends RuntimeException {
    public FfwdException(String message) {
        super(message);
    }

    public FfwdException(String message, Throwable cause) {
        super(message, cause);
    }
}
