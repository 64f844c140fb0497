package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.ffwd.FfwdException;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * {@code --config FILE}: a YAML or JSON object whose keys are long option names ("lora-r: 64"), and
 * {@code --preset NAME}: a named set of such values ({@link Presets}). Their values become the options' defaults,
 * so the command line wins over both, and a config file wins over a preset. For {@code demo} and {@code suite},
 * whose options are compare's, both apply to that compare, over the command's own preset.
 */
final class ConfigFile {
    private ConfigFile() {}

    static void install(CommandLine cli, String[] args) {
        CommandLine cmd = command(cli, args);
        if (!cmd.getCommandSpec().unmatchedArgsBindings().isEmpty()) return;  // demo, suite: their compare reads them (below)
        String file = value(args, "--config");
        install(cli, cmd, file == null ? null : Path.of(file), value(args, "--preset"), Map.of());
    }

    /**
     * {@code compare} for a command that passes the user's options on to it (demo, suite): its own preset
     * ({@code base}) gives compare's defaults, under the user's {@code --config} file and {@code --preset}; the
     * user's options win over all.
     */
    static CompareCommand compare(Map<String, String> base, List<String> userArgs) {
        CompareCommand compare = new CompareCommand();
        CommandLine cli = new CommandLine(compare);
        String[] args = userArgs.toArray(String[]::new);
        install(cli, cli, Main.config, value(args, "--preset"), base);
        cli.parseArgs(args);
        return compare;
    }

    /** Defaults for {@code cmd}'s options: {@code file}'s values, else {@code preset}'s, else {@code base}'s. */
    private static void install(CommandLine cli, CommandLine cmd, Path file, String preset, Map<String, String> base) {
        if (file == null && preset == null && base.isEmpty()) return;
        JsonNode cfg = file == null ? null : read(file);
        if (cfg != null) refuseUnknownKeys(file, cfg, cmd);
        Map<String, String> p = preset == null ? Map.of() : Presets.get(preset);
        cli.setDefaultValueProvider(arg -> {
            if (!(arg instanceof CommandLine.Model.OptionSpec o)) return null;
            String name = o.longestName().replaceFirst("^--", "");
            JsonNode v = cfg == null ? null : cfg.get(name);
            if (v == null) return p.getOrDefault(name, base.get(name));
            if (v.isArray()) return StreamSupport.stream(v.spliterator(), false).map(JsonNode::asText).collect(Collectors.joining(","));
            return v.asText();
        });
    }

    /** The subcommand named on the command line (the first argument that names one), or the top command. */
    private static CommandLine command(CommandLine cli, String[] args) {
        for (String a : args) if (cli.getSubcommands().containsKey(a)) return cli.getSubcommands().get(a);
        return cli;
    }

    /** A key that names none of {@code cmd}'s options is an error naming the key, not a silently ignored setting. */
    private static void refuseUnknownKeys(Path file, JsonNode cfg, CommandLine cmd) {
        java.util.Set<String> known = new java.util.TreeSet<>();
        for (CommandLine.Model.OptionSpec o : cmd.getCommandSpec().options())
            for (String n : o.names()) if (n.startsWith("--")) known.add(n.substring(2));
        for (var it = cfg.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!known.contains(key))
                throw new FfwdException(file + ": unknown option '" + key + "' for 'ffwd " + cmd.getCommandName()
                        + "'; keys are its long option names without '--' (see 'ffwd " + cmd.getCommandName() + " --help')");
        }
    }

    /** The value of {@code --name X} or {@code --name=X} on the command line, or null. */
    private static String value(String[] args, String name) {
        String v = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(name) && i + 1 < args.length) v = args[i + 1];
            else if (args[i].startsWith(name + "=")) v = args[i].substring(name.length() + 1);
        }
        return v;
    }

    private static JsonNode read(Path file) {
        JsonNode n;
        try {
            String name = file.getFileName().toString();
            n = (name.endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory())).readTree(file.toFile());
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read config: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) throw new FfwdException(file + ": config must be a mapping of option names to values");
        return n;
    }
}
