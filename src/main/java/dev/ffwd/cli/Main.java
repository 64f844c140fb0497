package dev.ffwd.cli;

import ai.djl.pytorch.jni.JniUtils;
import dev.ffwd.FfwdException;
import picocli.CommandLine;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code ffwd} command: a thin layer over the library. */
@Command(name = "ffwd", mixinStandardHelpOptions = true, version = "ffwd 0.1.0",
        scope = CommandLine.ScopeType.INHERIT,  // every subcommand gets --help and --version
        description = "LoRA fine-tuning of pretrained transformers on the JVM, with Fast Forward.",
        subcommands = {DemoCommand.class, CompareCommand.class, SuiteCommand.class, ResultsCommand.class, TrainCommand.class,
                PredictCommand.class, EvalCommand.class, ExportGgufCommand.class, MergeCommand.class, BenchCommand.class, SparkBenchCommand.class,
                ScoreCommand.class, GenerateCommand.class, InspectCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    static boolean debug;

    @Option(names = "--config", scope = CommandLine.ScopeType.INHERIT, paramLabel = "FILE",
            description = "YAML or JSON file of this command's option values, keyed by long name (lora-r: 64); the command line wins.")
    static java.nio.file.Path config;  // read by ConfigFile before parsing, to supply defaults

    @Option(names = "--threads", scope = CommandLine.ScopeType.INHERIT, description = "Compute threads (default: all cores).")
    static void threads(int n) {
        if (n < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + n);
        ai.djl.engine.Engine.getEngine("PyTorch");  // loads libtorch
        JniUtils.setNumThreads(n);
        JniUtils.setNumInteropThreads(1);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        System.exit(run(args));
    }

    /** Exit codes: 0 done, {@link #BAD_INPUT} a bad value or file, {@link #USAGE} a command line that does not parse, {@link #INTERNAL} a bug. */
    public static final int BAD_INPUT = 1, USAGE = 2, INTERNAL = 3;

    private static String usageError(CommandLine.ParameterException e) {
        // an option method's own refusal (--threads 0) arrives wrapped in picocli's "Could not invoke ..."
        if (e.getCause() instanceof IllegalArgumentException refused) return refused.getMessage();
        // a misspelt option is the mistake to name, not the required options that parsing missed after it
        List<String> unmatched = e.getCommandLine().getUnmatchedArguments();
        CommandLine.UnmatchedArgumentException u = e instanceof CommandLine.UnmatchedArgumentException un ? un
                : unmatched.isEmpty() ? null : new CommandLine.UnmatchedArgumentException(e.getCommandLine(), unmatched);
        if (u == null) return e.getMessage();
        return u.getMessage() + (u.getSuggestions().isEmpty() ? "" : " (did you mean " + u.getSuggestions().get(0) + "?)");  // the most similar
    }

    public static int run(String... args) {
        config = null;  // static, so that subcommands inherit it: not left over from an earlier in-process run
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((e, ignored) -> {  // one line, not the whole usage
            String cmd = e.getCommandLine().getCommandName();
            System.err.println("ffwd: error: " + usageError(e) + "; see '" + (cmd.equals("ffwd") ? "ffwd" : "ffwd " + cmd) + " --help'");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (debug) e.printStackTrace();
            if (e instanceof FfwdException || e instanceof IllegalArgumentException) {
                System.err.println("ffwd: error: " + e.getMessage());
                return BAD_INPUT;
            }
            System.err.println("ffwd: internal error: " + e + (debug ? "" : " (rerun with --debug for details)"));
            return INTERNAL;
        });
        try {
            ConfigFile.install(cli, args);
        } catch (FfwdException e) {
            System.err.println("ffwd: error: " + e.getMessage());
            return BAD_INPUT;
        }
        try {
            return cli.execute(args);
        } catch (Error e) {  // e.g. a missing native library: still one line unless --debug
            if (debug) e.printStackTrace();
            System.err.println("ffwd: internal error: " + e + (debug ? "" : " (rerun with --debug for details)"));
            return INTERNAL;
        }
    }
}
