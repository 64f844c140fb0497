package dev.ffwd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.ffwd.FfwdException;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * {@code --config FILE}: a YAML or JSON object whose keys are long option names ("lora-r: 64"); its values become
 * the options' defaults, so the command line still wins.
 */
final class ConfigFile {
    private ConfigFile() {}

    static void install(CommandLine cli, String[] args) {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) file = Path.of(args[i + 1]);
            else if (args[i].startsWith("--config=")) file = Path.of(args[i].substring(9));
        }
        if (file == null) return;
        JsonNode n;
        try {
            String name = file.getFileName().toString();
            n = (name.endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory())).readTree(file.toFile());
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read config: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) throw new FfwdException(file + ": config must be a mapping of option names to values");
        JsonNode cfg = n;
        cli.setDefaultValueProvider(arg -> {
            if (!(arg instanceof CommandLine.Model.OptionSpec o)) return null;
            JsonNode v = cfg.get(o.longestName().replaceFirst("^--", ""));
            if (v == null) return null;
            if (v.isArray()) return StreamSupport.stream(v.spliterator(), false).map(JsonNode::asText).collect(Collectors.joining(","));
            return v.asText();
        });
    }
}
