package dev.ffwd.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** {@code ffwd <command> --help} prints that command's usage and exits 0, for every command (new ones included). */
class HelpTest {

    @Test
    void everyCommandHasHelp() {
        Set<String> commands = new CommandLine(new Main()).getSubcommands().keySet();
        assertTrue(commands.containsAll(Set.of("train", "predict", "eval", "export-gguf", "compare", "demo", "merge")), commands.toString());
        for (String c : commands) {
            if (c.equals("help")) continue;
            Cli.Result r = Cli.run(c, "--help");
            assertEquals(0, r.code(), c + " --help failed:\n" + r.err());
            assertTrue(r.out().startsWith("Usage: ffwd " + c), c + " --help printed:\n" + r.out());
            assertFalse(r.err().contains("picocli WARN"), c + " --help warned:\n" + r.err());
        }
    }

    @Test
    void everyOptionOfTheseCommandsIsDescribed() {
        CommandLine cli = new CommandLine(new Main());
        for (String c : List.of("train", "predict", "eval", "export-gguf", "merge", "bench"))
            for (CommandLine.Model.OptionSpec o : cli.getSubcommands().get(c).getCommandSpec().options())
                assertTrue(o.description().length > 0 && !o.description()[0].isBlank(), c + " " + o.longestName() + " has no description");
    }

    /** Every option of every command that has a default value shows it in its help line. */
    @Test
    void everyDefaultIsShown() {
        CommandLine cli = new CommandLine(new Main());
        List<String> hidden = new java.util.ArrayList<>();
        for (var e : cli.getSubcommands().entrySet())
            for (CommandLine.Model.OptionSpec o : e.getValue().getCommandSpec().options()) {
                boolean flag = o.arity().max() == 0;
                if (o.defaultValue() != null && !flag && !o.hidden() && !String.join(" ", o.description()).contains("default"))
                    hidden.add(e.getKey() + " " + o.longestName());
            }
        assertEquals(List.of(), hidden, "options whose default the help does not show");
    }

    @Test
    void optionsShowDefaultsAndRequiredOnesAreStillRequired() {
        Cli.Result r = Cli.run("train", "--help");
        assertTrue(r.out().contains("--patience=N") && r.out().contains("(default: 0)"), r.out());
        Cli.Result missing = Cli.run("predict", "--data", "x.jsonl");
        assertNotEquals(0, missing.code());
        assertTrue(missing.err().contains("--adapter"), missing.err());
    }
}
