package dev.ffwd.fastforward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.ffwd.optim.Param;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Stage mechanics on a one-parameter quadratic whose minimum along Δ is known. */
class FastForwardTest {

    NDManager m;
    Param theta;
    final List<Double> evaluated = new ArrayList<>();

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        theta = new Param("layer.0.lora_A.weight", m.create(new float[]{0f, 0f}));
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** loss(θ) = (θ₀ − c)² + (θ₁ − c)², recording each θ₀ it is evaluated at. */
    FastForward.Validation quadratic(double c) {
        return FastForward.Validation.of(() -> {
            float[] v = theta.value().toFloatArray();
            evaluated.add((double) v[0]);
            return FastForward.Probe.of(Math.pow(v[0] - c, 2) + Math.pow(v[1] - c, 2));
        });
    }

    /** One "optimizer step" of Δ = (0.25, 0.25) from θ = (1, 1), then the stage. */
    FastForward.Stage stageAfterStep(FfConfig cfg, FastForward.Validation loss) {
        FastForward ff = new FastForward(cfg);
        theta.value().set(new float[]{1f, 1f});
        for (long s = 0; s < cfg.interval(); s++) {
            ff.beforeStep(s, List.of(theta));
            if (s == cfg.interval() - 1) theta.value().addi(0.25f);
            FastForward.Stage st = ff.afterStep(s + 1, List.of(theta), loss);
            if (st != null) return st;
        }
        throw new AssertionError("no stage ran");
    }

    @Test
    void paperModeRepeatsUntilFirstWorseLossAndKeepsIt() {
        // θ after the step is 1.25; minimum at 2.0: repeats give 1.5, 1.75, 2.0, 2.25 (worse) -> stop, keep 2.25
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withInterval(3).withMaxRepeats(100), quadratic(2.0));
        assertEquals(4, s.tau());
        assertEquals(4, s.evaluations());
        assertEquals(List.of(1.5, 1.75, 2.0, 2.25), evaluated);
        assertArrayEquals(new float[]{2.25f, 2.25f}, theta.value().toFloatArray());
    }

    @Test
    void revertModeUndoesTheWorseStepBitForBit() {
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withMode(FfConfig.Mode.REVERT).withInterval(3).withMaxRepeats(100), quadratic(2.0));
        assertEquals(3, s.tau());
        assertArrayEquals(new float[]{2.0f, 2.0f}, theta.value().toFloatArray());
    }

    @Test
    void firstRepeatIsAlwaysAcceptedInPaperMode() {
        // minimum at 1.3: the first repeat (1.5) is already worse than θ_t, but the authors' loop accepts it
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withInterval(2).withMaxRepeats(100), quadratic(1.3));
        assertEquals(2, s.tau());  // 1.5 accepted, 1.75 worse -> stop (kept)
        assertEquals(List.of(1.5, 1.75), evaluated);
    }

    @Test
    void maxRepeatsCapsTheStage() {
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withInterval(1).withMaxRepeats(3), quadratic(100));
        assertEquals(3, s.tau());
        assertArrayEquals(new float[]{2.0f, 2.0f}, theta.value().toFloatArray());
    }

    @Test
    void searchFindsTheMinimumWithFewerEvaluations() {
        // minimum at τ = 30 (θ = 1.25 + 30·0.25 = 8.75); the paper loop would need 31 evaluations
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withMode(FfConfig.Mode.SEARCH).withInterval(1).withMaxRepeats(1000), quadratic(8.75));
        assertTrue(s.evaluations() <= 12, "evaluations " + s.evaluations());
        assertEquals(30, s.tau(), 4.0);
        float got = theta.value().toFloatArray()[0];
        assertEquals(1.25 + 0.25 * s.tau(), got, 1e-5);
        double best = evaluated.stream().mapToDouble(x -> Math.abs(x - 8.75)).min().orElseThrow();
        assertEquals(best, Math.abs(got - 8.75), 1e-5, "θ is left at the best τ evaluated");
    }

    @Test
    void nonFiniteValidationLossRestoresLastGoodTheta() {
        FastForward.Validation nanAfterTwo = FastForward.Validation.of(
                () -> evaluated.size() < 2 ? quadratic(10).over(0, 1) : FastForward.Probe.of(recordNaN()));
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withInterval(1).withMaxRepeats(100), nanAfterTwo);
        assertTrue(s.hitNonFinite());
        assertEquals(2, s.tau());
        assertArrayEquals(new float[]{1.75f, 1.75f}, theta.value().toFloatArray());
    }

    private double recordNaN() {
        evaluated.add(Double.NaN);
        return Double.NaN;
    }

    @Test
    void adaptiveIntervalBacksOffAfterFruitlessStagesAndReturnsAfterAGoodOne() {
        // without the guard the first repeat is always taken (τ = 1, one step's worth): the interval doubles, capped at 4×
        // (4 → 8 → 16 → 16); with it, a line whose minimum is behind θ_t is rejected (τ = 0): ×16, capped at 64× (4 → 64 → 256 → 256);
        // a far minimum gives a long stage, and the interval is back to 4
        for (boolean guard : new boolean[]{false, true}) {
            FfConfig cfg = FfConfig.paper().withMode(FfConfig.Mode.REVERT).withInterval(4).withMaxRepeats(1000).withAdaptive(true).withGuard(guard);
            FastForward ff = new FastForward(cfg);
            theta.value().set(new float[]{1f, 1f});
            long step = 0;
            double[] targets = {0, 0, 0, 1000};  // θ grows by 0.25 a step: about 145 at the last stage
            int[] expected = guard ? new int[]{64, 256, 256, 4} : new int[]{8, 16, 16, 4};
            for (int i = 0; i < targets.length; i++) {
                long due = ff.nextStage();
                FastForward.Stage st = null;
                for (; step < due; step++) {
                    ff.beforeStep(step, List.of(theta));
                    theta.value().addi(0.25f);
                    st = ff.afterStep(step + 1, List.of(theta), quadratic(targets[i]));
                }
                assertEquals(expected[i], ff.interval(), "guard " + guard + ", after stage " + i + " (τ = " + st.tau() + ")");
            }
        }
    }

    @Test
    void guardLeavesThetaAsItWasWhenTheFirstRepeatIsWorse() {
        // minimum at 1.3: θ_t = 1.25 is better than the first repeat (1.5); the guard restores θ_t bit for bit
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withGuard(true).withInterval(2), quadratic(1.3));
        assertEquals(0, s.tau());
        assertEquals(List.of(1.25, 1.5), evaluated);
        assertArrayEquals(new float[]{1.25f, 1.25f}, theta.value().toFloatArray());
        FastForward.Stage q = stageAfterStep(FfConfig.paper().withMode(FfConfig.Mode.SEARCH).withGuard(true).withInterval(2), quadratic(1.3));
        assertEquals(0, q.tau());
        assertEquals(2, q.evaluations(), "a rejected search stage costs two probes");
        assertArrayEquals(new float[]{1.25f, 1.25f}, theta.value().toFloatArray());
    }

    @Test
    void guardKeepsThePapersOvershootOnlyWhileItIsNoWorseThanThetaT() {
        // minimum at 1.6: repeats 1.5 (better), 1.75 (worse than 1.5 but better than θ_t = 1.25): paper mode keeps it
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withGuard(true).withInterval(2), quadratic(1.6));
        assertEquals(2, s.tau());
        assertArrayEquals(new float[]{1.75f, 1.75f}, theta.value().toFloatArray());
    }

    @Test
    void searchRefinesTheBracketByParabolicInterpolation() {
        // minimum at τ = 2.8 (θ = 1.25 + 2.8·0.25 = 1.95): doubling brackets it in (1, 2, 4); the parabola through
        // those three points of a quadratic has its vertex exactly at the minimum
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withMode(FfConfig.Mode.SEARCH).withInterval(1), quadratic(1.95));
        assertEquals(2.8, s.tau(), 1e-4);
        assertEquals(4, s.evaluations());
        assertEquals(evaluated.size(), evaluated.stream().distinct().count(), "no τ is evaluated twice: " + evaluated);
        assertEquals(1.95, theta.value().toFloatArray()[0], 1e-5);
    }

    @Test
    void searchTriesMaxRepeatsWhenDoublingWouldPassIt() {
        // minimum far away: τ = 1, 2, 4, 8 keep improving, the next doubling would pass 10, so τ = 10 is tried
        FastForward.Stage s = stageAfterStep(FfConfig.paper().withMode(FfConfig.Mode.SEARCH).withInterval(1).withMaxRepeats(10), quadratic(100));
        assertEquals(10, s.tau());
        assertEquals(List.of(1.5, 1.75, 2.25, 3.25, 3.75), evaluated);
    }

    @Test
    void spanZeroTakesDeltaOverTheWholeInterval() {
        // three steps of +0.25 from θ = 1: Δ = θ_3 − θ_0 = 0.75; minimum at θ_3 + 2Δ = 3.25
        FastForward ff = new FastForward(FfConfig.defaults().withInterval(3).withAdaptive(false).withParams(FfConfig.Params.ALL));
        theta.value().set(new float[]{1f, 1f});
        FastForward.Stage st = null;
        for (long s = 0; s < 3; s++) {
            ff.beforeStep(s, List.of(theta));
            theta.value().addi(0.25f);
            st = ff.afterStep(s + 1, List.of(theta), quadratic(3.25));
        }
        assertNotNull(st);
        assertEquals(3, st.span());
        assertEquals(2, st.tau(), 1e-6);
        assertEquals(6, st.stepsGained(), 1e-6);
        assertEquals(3.25, theta.value().toFloatArray()[0], 1e-6);
    }

    @Test
    void onlyAdapterTensorsMoveUnlessAllAreAsked() {
        for (FfConfig.Params which : FfConfig.Params.values()) {
            Param lora = new Param("base_model.model.layer.0.query.lora_A.weight", m.create(new float[]{1f}));
            Param head = new Param("base_model.model.classifier.weight", m.create(new float[]{1f}));
            List<Param> both = List.of(lora, head);
            FastForward ff = new FastForward(FfConfig.paper().withInterval(1).withMaxRepeats(3).withParams(which));
            ff.beforeStep(0, both);
            lora.value().addi(1f);
            head.value().addi(1f);
            FastForward.Stage s = ff.afterStep(1, both, FastForward.Validation.of(() -> FastForward.Probe.of(-lora.value().getFloat() - head.value().getFloat())));
            assertEquals(3, s.tau());
            assertEquals(5f, lora.value().getFloat());
            assertEquals(which == FfConfig.Params.ALL ? 5f : 2f, head.value().getFloat(), which + ": the head");
        }
    }

    @Test
    void variantsParseIntoTheirPieces() {
        FfConfig base = FfConfig.defaults().withInterval(4);
        FfConfig ffwd = FfConfig.parse("ffwd", base);
        assertEquals(FfConfig.Mode.SEARCH, ffwd.mode());
        assertTrue(ffwd.guard() && ffwd.adaptive());
        assertEquals(0, ffwd.span());
        assertEquals(4, ffwd.interval());
        FfConfig noGuard = FfConfig.parse("ffwd-guard+all", base);
        assertFalse(noGuard.guard());
        assertEquals(FfConfig.Params.ALL, noGuard.params());
        FfConfig paper = FfConfig.parse("paper", base);
        assertEquals(FfConfig.paper().withInterval(4), paper);
        assertTrue(ffwd.budget() && FfConfig.parse("ffwd+lr+budget", base).budget());
        assertFalse(paper.budget() || FfConfig.parse("ffwd+lrtau", base).budget() || FfConfig.parse("ffwd-budget", base).budget(),
                "the authors' loop has no budget; an lr rule's stages are the lr search asked for");
        assertThrows(IllegalArgumentException.class, () -> FfConfig.parse("fast", base));
        assertThrows(IllegalArgumentException.class, () -> FfConfig.parse("paper+turbo", base));
    }

    /**
     * Steps of θ += 0.1 that each cost 1 (exact FLOPs, say) and validation passes that cost 0.5, so a full first
     * comparison costs one step; returns the steps after which a stage ran, and, under the budget, checks after each
     * that the probes cost no more than what stages gained plus {@link FfConfig#PROBE_BUDGET} of the training.
     */
    List<Long> stagesUnderBudget(FfConfig cfg, FastForward.Validation loss, long steps) {
        FastForward ff = new FastForward(cfg);
        List<Long> at = new ArrayList<>();
        double gained = 0;
        for (long s = 0; s < steps; s++) {
            ff.beforeStep(s, List.of(theta));
            theta.value().addi(0.1f);
            FastForward.Stage st = ff.afterStep(s + 1, List.of(theta), loss, new FastForward.Spend(s + 1, 0.5 * evaluated.size(), 0.5));
            if (st == null) continue;
            at.add(s + 1);
            gained += st.stepsGained();
            if (cfg.budget())
                assertTrue(0.5 * evaluated.size() <= FfConfig.PROBE_BUDGET * (s + 1) + gained, "probes within budget after step " + (s + 1));
        }
        return at;
    }

    @Test
    void theProbeBudgetHoldsFruitlessStagesToItsShareOfTraining() {
        // a comparison costs 1; 2% of the training pays for one at step 50, the next at 100, ...
        FfConfig cfg = FfConfig.defaults().withInterval(2).withAdaptive(false);
        assertEquals(List.of(50L, 100L, 150L), stagesUnderBudget(cfg, quadratic(0), 160));
        evaluated.clear();
        assertEquals(80, stagesUnderBudget(cfg.withBudget(false), quadratic(0), 160).size(), "without it: every interval");
    }

    @Test
    void stagesThatGainPayForTheNextOnes() {
        // the minimum lies far along Δ: the first stage (when 2% of the training pays for it) gains steps, which pay
        // for the following stages at every interval
        List<Long> at = stagesUnderBudget(FfConfig.defaults().withInterval(2).withAdaptive(false), quadratic(100), 56);
        assertEquals(List.of(50L, 52L, 54L, 56L), at);
    }

    /**
     * 32 validation examples whose losses are linear in θ₀ with per-example slopes {@code slopes} (repeated), so that
     * moving θ along Δ changes example i's loss by slopes[i]·Δ: counted in {@link #examplesEvaluated}.
     */
    FastForward.Validation linear(double... slopes) {
        return new FastForward.Validation() {
            public int size() {
                return 32;
            }

            public FastForward.Probe over(int from, int to) {
                double x = theta.value().toFloatArray()[0];
                double[] items = new double[to - from];
                for (int i = from; i < to; i++) items[i - from] = 10 + slopes[i % slopes.length] * x;
                examplesEvaluated += to - from;
                return new FastForward.Probe(java.util.Arrays.stream(items).average().orElseThrow(), items, items.length);
            }
        };
    }

    /**
     * Under the budget a stage starts once the training pays for its first screen (8 of 32 examples, a quarter of a
     * whole comparison), and goes on to the whole set past the budget where θ_t + Δ is better on each example.
     */
    @Test
    void theBudgetPaysForAScreenAndEvidenceForTheRest() {
        // a pass over the 32 examples costs 0.5 a step's 1: the first screen (2 × 8 examples) costs 0.25, 2% of 12.5 steps
        FfConfig cfg = FfConfig.defaults().withInterval(2).withAdaptive(false);
        FastForward.Validation downhill = linear(-1);  // Δ > 0 lowers every example's loss: the lr is too small
        FastForward ff = new FastForward(cfg);
        long first = 0;
        for (long s = 0; s < 20 && first == 0; s++) {
            ff.beforeStep(s, List.of(theta));
            theta.value().addi(0.1f);
            FastForward.Stage st = ff.afterStep(s + 1, List.of(theta), downhill, new FastForward.Spend(s + 1, 0.5 * examplesEvaluated / 32, 0.5));
            if (st == null) continue;
            first = s + 1;
            assertTrue(st.tau() > 1, "taken and searched further: τ " + st.tau());
            assertTrue(examplesEvaluated > 2 * 32, "the whole comparison and the search ran, past the budget: " + examplesEvaluated);
        }
        assertEquals(14, first, "the first even step with 2% of the training ≥ one screen");
    }

    /**
     * Past the screen the budget paid for, the guard's evidence decides, as without the budget; what a fruitless stage
     * spent beyond the budget then holds the next one back until the training has paid for it.
     */
    @Test
    void pastThePaidScreenEvidenceDecidesAndTheOverspendIsPaidBack() {
        // θ_t + Δ looks better on the first 24 examples (paired z −1.08, −1.58, −1.96 after 8, 16, 24: each promising)
        // and loses on the last 8, so that over all 32 it is not clearly better (z −0.47)
        double[] third = {-3, 2, -3, 1, -3, 1, -3, 1}, slopes = new double[32];
        for (int i = 0; i < 24; i++) slopes[i] = third[i % 8];
        java.util.Arrays.fill(slopes, 24, 32, 2);
        slopes[31] = 1;
        List<Integer> evaluatedWith = new ArrayList<>();
        for (boolean budget : new boolean[]{true, false}) {
            theta.value().set(new float[]{1f, 1f});
            examplesEvaluated = 0;
            FastForward ff = new FastForward(FfConfig.defaults().withInterval(1).withAdaptive(false).withBudget(budget));
            ff.beforeStep(0, List.of(theta));
            theta.value().addi(0.25f);
            // 2% of 25 steps pays for exactly one screen: 2 passes over 8 of 32 examples at 1 per whole pass
            FastForward.Stage st = ff.afterStep(1, List.of(theta), linear(slopes), new FastForward.Spend(25, 0, 1));
            assertEquals(0, st.tau(), "budget " + budget + ": not clearly better over all 32");
            evaluatedWith.add(examplesEvaluated);
            if (budget) {  // the whole comparison cost 2 passes of 1, four times the screen: 2% of 100 steps
                ff.beforeStep(1, List.of(theta));
                theta.value().addi(0.25f);
                assertNull(ff.afterStep(2, List.of(theta), linear(slopes), new FastForward.Spend(99, 2, 1)), "held back at 99 steps");
                ff.beforeStep(2, List.of(theta));
                theta.value().addi(0.25f);
                assertNotNull(ff.afterStep(3, List.of(theta), linear(slopes), new FastForward.Spend(125, 2, 1)), "paid back at 125 steps");
            }
        }
        assertEquals(List.of(64, 64), evaluatedWith, "the whole comparison, with and without the budget");
    }

    @Test
    void stagesComeEveryIntervalAfterTheWarmup() {
        assertThrows(IllegalArgumentException.class, () -> new FastForward(FfConfig.off()));
        FastForward on = new FastForward(FfConfig.paper().withInterval(2).withMaxRepeats(10).withWarmup(3));
        List<Long> stagesAt = new ArrayList<>();
        for (long s = 0; s < 10; s++) {
            on.beforeStep(s, List.of(theta));
            theta.value().addi(0.1f);
            if (on.afterStep(s + 1, List.of(theta), quadratic(0)) != null) stagesAt.add(s + 1);
        }
        assertEquals(List.of(5L, 7L, 9L), stagesAt);
    }

    @Test
    void profileMeasuresTheLineAndLeavesThetaBitForBit() {
        // θ_t = 1.25 after Δ = 0.25 over the span; the profile evaluates 1.25 + 0.25τ at each fixed τ and moves nothing
        theta.value().set(new float[]{1f, 1f});
        FastForward.Stage s = stageAfterStep(FfConfig.parse("profile", FfConfig.defaults().withInterval(1)), quadratic(2.0));
        assertEquals(FfConfig.PROFILE_TAUS, s.taus());
        assertEquals(FfConfig.PROFILE_TAUS.stream().map(t -> 1.25 + 0.25 * t).toList(), evaluated);
        for (int i = 0; i < s.taus().size(); i++)
            assertEquals(2 * Math.pow(1.25 + 0.25 * s.taus().get(i) - 2.0, 2), s.losses().get(i), 1e-6);
        assertEquals(0, s.tau());
        assertArrayEquals(new float[]{1.25f, 1.25f}, theta.value().toFloatArray());
    }

    /** A hand-made stage that ended at τ (the rule reads nothing else). */
    static FastForward.Stage endedAt(double tau) {
        return new FastForward.Stage(12, 6, tau, List.of(0.0, 1.0), List.of(0.5, 0.4), false);
    }

    static final FfConfig.LrRule D = FfConfig.LrRule.DOUBLE;

    @Test
    void tauRuleScalesTheLrByOnePlusTauCappedPerStageAndHalvesItOnAFruitlessStage() {
        FfConfig.LrRule t = FfConfig.LrRule.TAU;
        assertEquals(1.5, FastForward.nextLrScale(1, endedAt(0.5), t), "best displacement 1.5 Δ: the lr grows as much");
        assertEquals(3.0, FastForward.nextLrScale(1, endedAt(2), t));
        assertEquals(FfConfig.LR_TAU_MAX_FACTOR, FastForward.nextLrScale(1, endedAt(40), t), "one stage grows it at most 8×");
        assertEquals(0.5, FastForward.nextLrScale(1, endedAt(0), t), "τ = 0 halves it");
        assertEquals(FfConfig.LR_SCALE_BOUND, FastForward.nextLrScale(32, endedAt(7), t), "the same bounds as +lr");
        assertEquals(1.0, FastForward.nextLrScale(1, endedAt(3), FfConfig.LrRule.OFF));
        assertEquals(FfConfig.LrRule.TAU, FfConfig.parse("ffwd+lrtau", FfConfig.defaults()).lrRule());
        assertThrows(IllegalArgumentException.class, () -> FfConfig.parse("paper+lrtau", FfConfig.defaults()), "needs the guard");
    }

    @Test
    void lrRuleGrowsWhenTheLineKeepsFallingShrinksWhenTheGuardKeepsThetaAndStaysBounded() {
        assertEquals(2.0, FastForward.nextLrScale(1, endedAt(2), D), "τ = 2: steps too short");
        assertEquals(1.0, FastForward.nextLrScale(0.5, endedAt(8), D), "τ = 8 doubles, from 0.5");
        assertEquals(0.5, FastForward.nextLrScale(1, endedAt(0), D), "τ = 0: the guard kept θ_t");
        for (double tau : new double[]{0.4, 1, 1.9})
            assertEquals(4.0, FastForward.nextLrScale(4, endedAt(tau), D), "τ = " + tau + " leaves the lr");
        assertEquals(FfConfig.LR_SCALE_BOUND, FastForward.nextLrScale(FfConfig.LR_SCALE_BOUND, endedAt(4), D), "upper bound");
        assertEquals(1 / FfConfig.LR_SCALE_BOUND, FastForward.nextLrScale(1 / FfConfig.LR_SCALE_BOUND, endedAt(0), D), "lower bound");
        double s = 1;
        for (int i = 0; i < 10; i++) s = FastForward.nextLrScale(s, endedAt(0), D);
        assertEquals(1 / FfConfig.LR_SCALE_BOUND, s, "ten rejected stages stop at the bound");
    }

    @Test
    void lrMultiplierMovesOnlyWithPlusLrAndIsReportedPerStage() {
        // minimum far along Δ: the search ends at τ ≥ 2; minimum behind θ_t: the guard keeps θ_t (τ = 0)
        double[][] cases = {{100, 2.0}, {0, 0.5}};
        for (double[] c : cases) for (boolean on : new boolean[]{false, true}) {
            FastForward ff = new FastForward(FfConfig.defaults().withInterval(2).withLrAdapt(on));
            theta.value().set(new float[]{1f, 1f});
            FastForward.Stage st = null;
            for (long step = 0; st == null; step++) {
                ff.beforeStep(step, List.of(theta));
                theta.value().addi(0.25f);
                st = ff.afterStep(step + 1, List.of(theta), quadratic(c[0]));
            }
            assertEquals(c[0] == 0, st.tau() == 0, "stage " + st);
            assertEquals(on ? c[1] : 1.0, ff.lrScale(), "minimum at " + c[0] + ", +lr " + on);
            assertEquals(on ? (Double) c[1] : null, st.lrScale(), "the stage records the multiplier only with +lr");
            assertEquals(on ? c[1] : 1.0, ff.state().lrScale(), "the multiplier is part of the state");
        }
    }

    @Test
    void lrMultiplierIsRestoredWithTheState() {
        FastForward a = new FastForward(FfConfig.defaults().withLrAdapt(true));
        a.restore(new FastForward.State(18, 12, null, 0.25, 3));
        assertEquals(0.25, a.lrScale());
        assertEquals(new FastForward.State(18, 12, null, 0.25, 3), a.state());
        assertThrows(IllegalArgumentException.class, () -> a.restore(new FastForward.State(18, 12, null, 0, 0)));
    }

    @Test
    void plusLrParsesOffByDefaultAndNeedsTheGuard() {
        FfConfig base = FfConfig.defaults();
        assertFalse(FfConfig.defaults().lrAdapt() || FfConfig.paper().lrAdapt() || FfConfig.parse("ffwd", base).lrAdapt());
        assertEquals(FfConfig.parse("ffwd", base).withLrAdapt(true).withBudget(false), FfConfig.parse("ffwd+lr", base));
        assertFalse(FfConfig.parse("ffwd+lr-lr", base).lrAdapt());
        assertTrue(FfConfig.parse("paper+lr+guard", base).lrAdapt(), "validated after all modifiers, in any order");
        assertThrows(IllegalArgumentException.class, () -> FfConfig.parse("paper+lr", base), "no guard: τ = 0 never happens");
        assertThrows(IllegalArgumentException.class, () -> FfConfig.parse("ffwd+lr-guard", base));
        assertThrows(IllegalArgumentException.class, () -> FfConfig.parse("profile+lr+guard", base), "profile never moves θ");
    }

    /**
     * A noisy validation set: 32 examples whose loss along the line is 2 − gain·τ + curve·τ², plus noise of its own
     * for each example and each probed τ.
     */
    FastForward.Validation noisyLine(double gain, double curve, long seed) {
        double[] noise = new java.util.Random(seed).doubles(32 * 64).map(x -> 0.5 * (x - 0.5)).toArray();
        return new FastForward.Validation() {
            public int size() {
                return 32;
            }

            public FastForward.Probe over(int from, int to) {
                double t = (theta.value().toFloatArray()[0] - 1.25) / 0.25;  // θ_t = 1.25, Δ = 0.25
                int k = (int) Math.round(t * 4) & 63;                       // each probed τ draws its own noise
                double[] items = new double[to - from];
                for (int i = from; i < to; i++) items[i - from] = 2 - gain * t + curve * t * t + noise[i * 64 + k];
                examplesEvaluated += to - from;
                return new FastForward.Probe(java.util.Arrays.stream(items).average().orElseThrow(), items, items.length);
            }
        };
    }

    int examplesEvaluated;

    @Test
    void pairedTestNeedsAMarginBeyondTheNoise() {
        double[] a = {1.0, 2.0, 3.0, 4.0}, slightlyLower = {0.9, 2.1, 2.9, 4.0}, clearlyLower = {0.8, 1.8, 2.8, 3.8};
        FastForward.Probe base = new FastForward.Probe(2.5, a, 4);
        assertFalse(new FastForward.Probe(2.475, slightlyLower, 4).clearlyBetterThan(base), "a lower mean within the noise");
        assertTrue(new FastForward.Probe(2.3, clearlyLower, 4).clearlyBetterThan(base), "every example lower");
        assertFalse(base.clearlyBetterThan(base), "equal is not better");
        assertTrue(FastForward.Probe.of(1).clearlyBetterThan(FastForward.Probe.of(2)), "one item: the sign alone");
        assertThrows(IllegalArgumentException.class, () -> base.clearlyBetterThan(FastForward.Probe.of(1)));
    }

    @Test
    void guardedSearchRarelyFollowsNoiseAndAlwaysFollowsAClearGain() {
        // a flat line: only noise differs between τ, so a lower mean at τ = 1 is a coin flip; the paired test lets
        // through about one in twenty. A clear gain (minimum at τ = 4) is taken every time.
        FfConfig ffwd = FfConfig.defaults().withInterval(2).withParams(FfConfig.Params.ALL);
        int runs = 200, moved = 0;
        for (long seed = 0; seed < runs; seed++) {
            FastForward.Stage flat = stageAfterStep(ffwd, noisyLine(0, 0, seed));
            if (flat.tau() != 0) moved++;
            else assertArrayEquals(new float[]{1.25f, 1.25f}, theta.value().toFloatArray(), "θ_t kept bit for bit");
            FastForward.Stage clear = stageAfterStep(ffwd, noisyLine(0.4, 0.05, seed));
            assertTrue(clear.tau() >= 2, "seed " + seed + ": " + clear);
        }
        assertTrue(moved <= runs / 10, "moved θ on a flat line in " + moved + " of " + runs);
    }

    @Test
    void aStageOnARisingLineStopsAfterAFewExamples() {
        // at a tuned lr the loss rises at once along Δ: the first comparison should give up after its first chunk or
        // two, instead of two whole passes over the 32 examples (64 example evaluations)
        FfConfig ffwd = FfConfig.defaults().withInterval(2).withParams(FfConfig.Params.ALL);
        int runs = 200;
        long rising = 0, flat = 0;
        for (long seed = 0; seed < runs; seed++) {
            examplesEvaluated = 0;
            FastForward.Stage s = stageAfterStep(ffwd, noisyLine(-0.1, 0.05, seed));
            rising += examplesEvaluated;
            assertEquals(0, s.tau(), "seed " + seed + ": " + s);
            assertEquals(List.of(0.0, 1.0), s.taus(), "the screen's two partial passes are the stage's record");
            assertArrayEquals(new float[]{1.25f, 1.25f}, theta.value().toFloatArray(), "θ_t kept bit for bit");
            examplesEvaluated = 0;
            stageAfterStep(ffwd, noisyLine(0, 0, seed));
            flat += examplesEvaluated;
        }
        assertEquals(2 * FfConfig.SCREEN_CHUNK, rising / (double) runs, 2, "examples per stage on a rising line");
        assertTrue(flat / (double) runs < 32, "examples per stage on a flat line: " + flat / (double) runs);
    }

    @Test
    void probesOverConsecutivePartsJoinIntoOne() {
        FastForward.Probe a = new FastForward.Probe(2.0, new double[]{6, 2}, 4), b = new FastForward.Probe(1.0, new double[]{4}, 4);
        FastForward.Probe ab = a.then(b);
        assertEquals(1.5, ab.loss(), 1e-12, "weighted by what each mean averages (tokens)");
        assertArrayEquals(new double[]{6, 2, 4}, ab.items());
        assertEquals(8, ab.count());
        assertThrows(IllegalArgumentException.class, () -> new FastForward.Probe(1, new double[]{1}, 0));
    }
}
