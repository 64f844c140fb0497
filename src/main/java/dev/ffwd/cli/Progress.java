package dev.ffwd.cli;

import dev.ffwd.fastforward.FastForward;
import dev.ffwd.train.Comparison;
import dev.ffwd.train.History;
import dev.ffwd.train.Trainer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.Locale;

/** Progress bars on stderr: step, loss, tokens/s, ETA, latest test loss (and accuracy) and FF stages. */
final class Progress implements Comparison.Listener, AutoCloseable {

    private final long maxSteps;
    private ProgressBar bar;
    private double test = Double.NaN, trainLoss = Double.NaN, rate;
    private String accuracy = "";
    private String stage = "";
    private long startTokens = -1;
    private long started;

    Progress(long maxSteps) {
        this.maxSteps = maxSteps;
    }

    @Override
    public void onPrepared(dev.ffwd.train.FineTune ft) {
        System.err.printf("data: %d train, %d test, %d validation examples; target modules %s%n", ft.splits.train().size(),
                ft.splits.test().size(), ft.splits.validation().size(), ft.options.lora().targets());
    }

    @Override
    public void onArmStart(String name, long steps) {
        close();
        bar = new ProgressBarBuilder().setTaskName(String.format("%-16s", name)).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).setMaxRenderedLength(140)
                .setUnit(" steps", 1).build();
        startTokens = -1;
        test = Double.NaN;
        accuracy = "";
        stage = "";
    }

    @Override
    public void onStep(Trainer t, double loss) {
        if (bar == null) onArmStart("train", maxSteps);
        if (startTokens < 0) {  // rate from the first step on (a resumed run starts mid-way)
            startTokens = t.tokens();
            started = System.nanoTime();
        }
        bar.stepTo(t.steps());
        double secs = (System.nanoTime() - started) / 1e9;
        rate = secs > 0 ? (t.tokens() - startTokens) / secs : 0;
        trainLoss = loss;
        render();
    }

    /** The evaluation after a step updates the line at once, so the last line shows the final evaluation. */
    @Override
    public void onEval(History.Point p) {
        test = p.testLoss();
        accuracy = p.accuracy() == null ? "" : String.format(Locale.ROOT, " acc %.3f", p.accuracy());
        render();
    }

    @Override
    public void onStage(FastForward.Stage s) {
        stage = String.format(Locale.ROOT, " FF τ=%.2f×%d (%d probes)%s", s.tau(), s.span(), s.evaluations(),
                s.lrScale() == null ? "" : String.format(Locale.ROOT, " lr×%s", s.lrScale()));
        render();
    }

    /** What the bar shows after the counters (for tests). */
    String message() {
        return bar == null ? "" : bar.getExtraMessage();
    }

    private void render() {
        if (bar != null)
            bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f test %.4f%s %.0f tok/s%s", trainLoss, test, accuracy, rate, stage));
    }

    @Override
    public void onArmEnd(Comparison.Arm arm) {
        close();
        History.Point best = arm.history().best();
        System.err.printf(Locale.ROOT, "%s: %d steps, test loss %.4f (best %.4f%s), stopped by %s%s%n", arm.name(), arm.steps(),
                arm.history().lastTestLoss(), arm.bestTestLoss(),
                best == null || best.accuracy() == null ? "" : String.format(Locale.ROOT, ", accuracy there %.4f", best.accuracy()),
                arm.stop().name().toLowerCase(Locale.ROOT),
                arm.error() != null ? ": " + arm.error() : "");
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
        bar = null;
    }
}
