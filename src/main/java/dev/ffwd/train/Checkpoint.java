package dev.ffwd.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.fastforward.FfConfig;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.io.TensorStore;
import dev.ffwd.optim.Optimizer;
import dev.ffwd.optim.Param;
import dev.ffwd.optim.Schedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A training checkpoint: the components' own states ({@link Trainer#state()} with its optimizer and ledger,
 * {@link FastForward#state()}, {@link History#state()}) serialised into one safetensors file written atomically (temp
 * file, fsync, rename), holding the trainable tensors ("param/NAME"), the optimizer buffers ("optim/NAME/i") and, in its metadata, the
 * step, data position, cost ledger, Fast Forward schedule and history; a pending Fast Forward snapshot is stored
 * as tensors "ff/pending/i". A crash leaves the previous one intact. The metadata also records the settings that shape
 * the trajectory ({@link #settings}); a resume under other settings is refused, naming the first that differs.
 */
public final class Checkpoint {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STATE = "ffwd.state";
    private static final String PARAM = "param/";        // a trainable tensor, by parameter name
    private static final String OPTIM = "optim/";        // "optim/NAME/i": the optimizer's i-th buffer of parameter NAME
    private static final String FF_PENDING = "ff/pending/";  // Fast Forward's θ_{t−span} snapshot, when one is pending

    private Checkpoint() {}

    /**
     * {@code settings}: null in checkpoints written before settings were recorded (nothing to check then).
     * {@code ffLrScale}: Fast Forward's lr multiplier; null in checkpoints written before it existed (then 1).
     * {@code optimizerScalars}: the optimizer's global scalars (Prodigy's d and its sums); null when it keeps none.
     * {@code ffGained}: the steps' worth Fast Forward's stages have gained (its probe budget's credit); null without FF.
     */
    record State(long step, long cursor, long tokens, long optimizerSteps, double[] ledger, long ffNext, int ffInterval,
                 List<History.Point> points, List<History.StageAt> stages, Map<String, String> settings, Double ffLrScale,
                 Map<String, Double> optimizerScalars, Double ffGained) {}

    /**
     * The settings a resumed run must share with the checkpoint to continue the same trajectory: seed, optimizer and
     * learning-rate schedule, batch, and the Fast Forward variant. The step budget is not among them (a constant-lr run
     * may be extended) unless a decaying schedule depends on it.
     */
    private static Map<String, String> settings(TrainConfig c, FfConfig ff) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("seed", Long.toString(c.seed()));
        m.put("lr", Double.toString(c.lr()));
        m.put("schedule", c.schedule().name().toLowerCase(Locale.ROOT));
        m.put("warmup", Long.toString(c.warmup()));
        if (c.schedule() != Schedule.Kind.CONSTANT) m.put("max_steps", Long.toString(c.maxSteps()));
        m.put("optimizer", c.optimizer().name());
        m.put("weight_decay", Double.toString(c.weightDecay()));
        m.put("clip_norm", Double.toString(c.clipNorm()));
        m.putAll(c.optimizer().settings());  // the spec names its own (AdamW: adam_eps; SGD: momentum)
        if (c.loraPlusRatio() != TrainConfig.LORA_PLUS_RATIO) m.put("lora_plus_ratio", Double.toString(c.loraPlusRatio()));
        m.put("batch_size", Integer.toString(c.batchSize()));
        m.put("grad_accum", Integer.toString(c.gradAccum()));
        m.put("ff_mode", ff == null || !ff.enabled() ? "off" : ff.mode().name().toLowerCase(Locale.ROOT));
        if (ff != null && ff.enabled()) {
            m.put("ff_interval", Integer.toString(ff.interval()));
            m.put("ff_span", Integer.toString(ff.span()));
            m.put("ff_guard", Boolean.toString(ff.guard()));
            m.put("ff_adaptive", Boolean.toString(ff.adaptive()));
            m.put("ff_params", ff.params().name().toLowerCase(Locale.ROOT));
            m.put("ff_warmup", Long.toString(ff.warmup()));
            m.put("ff_max_repeats", Integer.toString(ff.maxRepeats()));
            if (ff.budget()) m.put("ff_budget", Double.toString(FfConfig.PROBE_BUDGET));  // absent when off
            if (ff.lrAdapt()) m.put("ff_lr", ff.lrRule() == FfConfig.LrRule.DOUBLE ? "adapt" : ff.lrRule().name().toLowerCase(Locale.ROOT));  // absent when off
        }
        return m;
    }

    /** The optimisation settings, then the run's {@code fingerprint} (model, data, splits: {@link FineTune#fingerprint}). */
    private static Map<String, String> settings(Trainer t, FastForward ff, Map<String, String> fingerprint) {
        Map<String, String> m = settings(t.config(), ff == null ? null : ff.config());
        m.putAll(fingerprint);
        return m;
    }

    /** Writes the states of {@code t}, {@code ff} (null: Fast Forward off) and {@code h}, and the run's {@code fingerprint}. */
    static void save(Path file, Trainer t, FastForward ff, History h, Map<String, String> fingerprint) {
        Trainer.State ts = t.state();
        List<RawTensor> tensors = new ArrayList<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();  // buffers have their parameter's shape
        for (Param p : t.params()) {
            shapes.put(p.name(), p.value().getShape().getShape());
            tensors.add(RawTensor.ofFloats(PARAM + p.name(), shapes.get(p.name()), ts.params().get(p.name())));
        }
        ts.optimizer().buffers().forEach((name, bufs) -> {
            for (int i = 0; i < bufs.length; i++) tensors.add(RawTensor.ofFloats(OPTIM + name + "/" + i, shapes.get(name), bufs[i]));
        });
        FastForward.State fs = ff == null ? null : ff.state();
        if (fs != null && fs.pending() != null)
            for (int i = 0; i < fs.pending().size(); i++)
                tensors.add(RawTensor.ofFloats(FF_PENDING + i, new long[]{fs.pending().get(i).length}, fs.pending().get(i)));
        History.State hs = h.state();
        State s = new State(ts.step(), ts.cursor(), ts.tokens(), ts.optimizer().steps(), ts.ledger(),
                fs == null ? 0 : fs.nextStage(), fs == null ? 0 : fs.interval(), hs.points(), hs.stages(), settings(t, ff, fingerprint),
                fs == null ? null : fs.lrScale(), ts.optimizer().scalars().isEmpty() ? null : ts.optimizer().scalars(),
                fs == null ? null : fs.gained());
        try {
            SafetensorsWriter.write(file, tensors, Map.of(STATE, JSON.writeValueAsString(s)));
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot write checkpoint: " + e.getMessage());
        }
    }

    /** Restores {@code t}, {@code ff} and {@code h} from {@code file}, after checking that the settings and fingerprint agree. */
    static void load(Path file, Trainer t, FastForward ff, History h, Map<String, String> fingerprint) {
        try (TensorStore store = SafetensorsReader.open(file)) {
            String json = store.metadata().get(STATE);
            if (json == null) throw new FfwdException(file + ": not an ffwd checkpoint (no '" + STATE + "' metadata)");
            State s = JSON.readValue(json, State.class);
            if (s.settings() != null) refuseOtherSettings(file, s.settings(), settings(t, ff, fingerprint));
            Map<String, float[]> params = new LinkedHashMap<>();
            Map<String, float[][]> bufs = new LinkedHashMap<>();
            for (String key : store.names()) {
                if (!key.startsWith(PARAM)) continue;
                String name = key.substring(PARAM.length());
                params.put(name, store.get(key).toFloats());
                List<float[]> list = new ArrayList<>();
                for (int i = 0; store.contains(OPTIM + name + "/" + i); i++) list.add(store.get(OPTIM + name + "/" + i).toFloats());
                if (!list.isEmpty()) bufs.put(name, list.toArray(float[][]::new));
            }
            try {
                t.restore(new Trainer.State(s.step(), s.cursor(), s.tokens(), params, new Optimizer.State(s.optimizerSteps(), bufs, s.optimizerScalars()), s.ledger()));
            } catch (FfwdException | IllegalArgumentException e) {
                throw new FfwdException(file + ": " + e.getMessage());
            }
            if (ff != null) {
                List<float[]> pending = new ArrayList<>();
                for (int i = 0; store.contains(FF_PENDING + i); i++) pending.add(store.get(FF_PENDING + i).toFloats());
                ff.restore(new FastForward.State(s.ffNext(), s.ffInterval(), pending.isEmpty() ? null : pending,
                        s.ffLrScale() == null ? 1 : s.ffLrScale(), s.ffGained() == null ? 0 : s.ffGained()));
            }
            h.restore(new History.State(s.points(), s.stages()));
        } catch (IOException e) {
            throw new FfwdException(file + ": corrupt checkpoint state: " + e.getMessage());
        }
    }

    private static void refuseOtherSettings(Path file, Map<String, String> saved, Map<String, String> now) {
        java.util.Set<String> keys = new java.util.LinkedHashSet<>(saved.keySet());
        keys.addAll(now.keySet());
        for (String k : keys) {
            String was = saved.getOrDefault(k, "(not set)"), is = now.getOrDefault(k, "(not set)");
            if (!was.equals(is))
                throw new FfwdException(file + ": checkpoint was written with " + k + " " + was + ", this run has " + k + " " + is
                        + "; resume with the same settings, or start afresh");
        }
    }
}
