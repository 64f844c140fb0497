package dev.ffwd.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** docs/results.md is assembled from generated reports only, and names what is missing. */
class ResultsCommandTest {

    @TempDir Path dir;

    Path report(String name, String md) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("report.md"), md);
        return d;
    }

    @Test
    void assemblesEverySectionFromItsReportAndStripsAblationPlots() throws Exception {
        Path demo = report("demo", "# Fast Forward vs. plain LoRA\n\ndemo table 0.0376\n\n![test loss vs FLOPs](loss_vs_flops.png)\n");
        for (String png : new String[]{"loss_vs_flops.png", "loss_vs_wall.png"}) Files.write(demo.resolve(png), new byte[]{1});
        Path suite = report("suite", "# Suite\n\n## Against the tuned baseline\nsuite table\n");
        Path budget = report("budget", "# Fast Forward suite\n\n## Against the baseline at the same learning rate\nbudget table\n");
        Path ablation = report("ablation", "# Fast Forward vs. plain LoRA\n\nablation table\n\n![test loss vs FLOPs](loss_vs_flops.png)\n");
        Path profile = Files.createDirectories(dir.resolve("profile"));
        Files.writeString(profile.resolve("line_profile.md"), "| lr | stages |\nprofile table\n");
        Path reading = Files.writeString(dir.resolve("reading.md"), "## Reading\nwords\n");
        Path docs = Files.createDirectories(dir.resolve("docs"));
        Path out = docs.resolve("results.md");
        Cli.Result r = Cli.run("results", "--demo", demo.toString(), "--suite", suite.toString(), "--budget", budget.toString(),
                "--ablation", ablation.toString(), "--profile", profile.toString(), "--reading", reading.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(out);
        for (String part : new String[]{"demo table 0.0376", "(demo-loss_vs_flops.png)", "### Against the tuned baseline", "ablation table",
                "budget table", "### Against the baseline at the same learning rate", "profile table", "words", "--modes " + ResultsCommand.ABLATION_MODES})
            assertTrue(md.contains(part), part + " missing from\n" + md);
        assertEquals(1, md.split("!\\[", -1).length - 1, "only the demo's plot is kept");
        assertTrue(Files.isRegularFile(docs.resolve("demo-loss_vs_wall.png")));

        Cli.Result some = Cli.run("results", "--sections", "ablation,profile", "--demo", dir.resolve("none").toString(),
                "--ablation", ablation.toString(), "--profile", profile.toString(), "--reading", reading.toString(), "--out", out.toString());
        assertEquals(0, some.code(), some.err());
        String part = Files.readString(out);
        assertTrue(part.contains("ablation table") && part.contains("profile table") && !part.contains("demo table"), part);
        Cli.Result unknown = Cli.run("results", "--sections", "ablation,plots", "--ablation", ablation.toString(), "--out", out.toString());
        assertNotEquals(0, unknown.code());
        assertTrue(unknown.err().contains("unknown section 'plots'"), unknown.err());

        Files.delete(profile.resolve("line_profile.md"));
        Cli.Result missing = Cli.run("results", "--demo", demo.toString(), "--suite", suite.toString(), "--budget", budget.toString(), "--ablation", ablation.toString(),
                "--profile", profile.toString(), "--reading", reading.toString(), "--out", out.toString());
        assertNotEquals(0, missing.code());
        assertTrue(missing.err().contains("line_profile.md: not found"), missing.err());
    }
}
