package dev.ffwd.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.fastforward.FastForward;
import dev.ffwd.io.RawTensor;
import dev.ffwd.io.SafetensorsReader;
import dev.ffwd.io.SafetensorsWriter;
import dev.ffwd.io.TensorStore;
import dev.ffwd.optim.Param;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint: one safetensors file written atomically (temp file, fsync, rename), holding the
 * trainable tensors ("param/NAME"), the optimizer buffers ("optim/NAME/i") and, in its metadata, the
 * step, data position, cost ledger, Fast Forward schedule and history; a pending Fast Forward snapshot is stored
 * as tensors "ff/pending/i". A crash leaves the previous one intact.
 */
public final class Checkpoint {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STATE = "ffwd.state";
    private static final String FF_PENDING = "ff/pending/";  // Fast Forward's θ_{t−span} snapshot, when one is pending

    private Checkpoint() {}

    record State(long step, long cursor, long tokens, long optimizerSteps, double[] ledger, long ffNext, int ffInterval,
                 List<History.Point> points, List<History.StageAt> stages) {}

    static void save(Path file, Trainer t, FastForward ff, History h) {
        List<RawTensor> tensors = new ArrayList<>();
        for (Param p : t.params()) tensors.add(RawTensor.ofFloats("param/" + p.name(), p.value().getShape().getShape(), p.toFloats()));
        t.optimizer().state().forEach((name, bufs) -> {
            for (int i = 0; i < bufs.length; i++)
                tensors.add(RawTensor.ofFloats("optim/" + name + "/" + i, bufs[i].getShape().getShape(), bufs[i].toFloatArray()));
        });
        FastForward.State fs = ff == null ? null : ff.state();
        if (fs != null && fs.pending() != null)
            for (int i = 0; i < fs.pending().size(); i++)
                tensors.add(RawTensor.ofFloats(FF_PENDING + i, new long[]{fs.pending().get(i).length}, fs.pending().get(i)));
        State s = new State(t.step, t.cursor, t.tokens, t.optimizer().steps(), t.ledger.toArray(),
                fs == null ? 0 : fs.nextStage(), fs == null ? 0 : fs.interval(), h.points, h.stages);
        try {
            SafetensorsWriter.write(file, tensors, Map.of(STATE, JSON.writeValueAsString(s)));
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot write checkpoint: " + e.getMessage());
        }
    }

    static void load(Path file, Trainer t, FastForward ff, History h) {
        try (TensorStore store = SafetensorsReader.open(file)) {
            String json = store.metadata().get(STATE);
            if (json == null) throw new FfwdException(file + ": not an ffwd checkpoint (no '" + STATE + "' metadata)");
            State s = JSON.readValue(json, State.class);
            Map<String, NDArray> byName = new LinkedHashMap<>();
            for (Param p : t.params()) {
                String key = "param/" + p.name();
                if (!store.contains(key)) throw new FfwdException(file + ": checkpoint lacks tensor '" + key + "'; was it made with other LoRA settings?");
                RawTensor r = store.get(key);
                if (r.numel() != p.size()) throw new FfwdException(file + ": tensor '" + key + "' has " + r.numel() + " values, expected " + p.size());
                p.value().set(r.toFloats());
                byName.put(p.name(), p.value());
            }
            Map<String, float[][]> bufs = new LinkedHashMap<>();
            for (String name : byName.keySet()) {
                List<float[]> list = new ArrayList<>();
                for (int i = 0; store.contains("optim/" + name + "/" + i); i++) list.add(store.get("optim/" + name + "/" + i).toFloats());
                if (!list.isEmpty()) bufs.put(name, list.toArray(float[][]::new));
            }
            t.optimizer().load(s.optimizerSteps(), bufs, byName);
            t.step = s.step();
            t.cursor = s.cursor();
            t.tokens = s.tokens();
            t.ledger.load(s.ledger());
            if (ff != null) {
                List<float[]> pending = new ArrayList<>();
                for (int i = 0; store.contains(FF_PENDING + i); i++) pending.add(store.get(FF_PENDING + i).toFloats());
                ff.restore(new FastForward.State(s.ffNext(), s.ffInterval(), pending.isEmpty() ? null : pending));
            }
            h.points.clear();
            h.points.addAll(s.points());
            h.stages.clear();
            h.stages.addAll(s.stages());
        } catch (IOException e) {
            throw new FfwdException(file + ": corrupt checkpoint state: " + e.getMessage());
        }
    }
}
