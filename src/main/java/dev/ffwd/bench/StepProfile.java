package dev.ffwd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Where a training step's time goes, from libtorch's own profiler (a Chrome trace, as {@code torch.autograd.profiler}
 * writes it): each op's self time (its duration less that of the ops it called) summed by category, per step. What the
 * ops do not account for is the time between them, spent in the JVM, in JNI calls and in allocation. The profiler's
 * own bookkeeping inflates the wall time a little, so the shares are what to read, not the absolute times.
 *
 * @param wallMs wall time per step while profiling
 * @param selfMs self time per step of each category, in {@link #CATEGORIES} order
 */
public record StepProfile(double wallMs, Map<String, Double> selfMs) {

    /** The rest of the wall time: between libtorch's ops. */
    public static final String OUTSIDE = "JVM, JNI and allocation between ops";

    private record Category(String name, Predicate<String> ops) {}

    /** Op categories, first match wins; op names without their "aten::" prefix. */
    private static final List<Category> CATEGORIES = List.of(
            new Category("matrix products (frozen and LoRA)", n -> n.matches("mm|addmm|bmm|baddbmm|matmul|linear|dot|mv")),
            new Category("softmax (attention)", n -> n.matches("_?softmax|_softmax_backward_data")),
            new Category("loss (log-softmax, gather, one-hot)", n -> n.matches("_?log_softmax|_log_softmax_backward_data|gather|one_hot|nll.*|exp")),
            new Category("norms", n -> n.matches("native_layer_norm.*|layer_norm|rsqrt|pow|mean|rms_norm.*|var_mean")),
            new Category("activations", n -> n.matches("gelu.*|silu.*|tanh.*|sigmoid.*|relu.*|threshold_backward")),
            new Category("copies and layout", n -> n.matches("copy_|_to_copy|to|contiguous|clone|cat|stack|index.*|empty.*|zeros.*|zero_|fill_"
                    + "|ones.*|resize_|as_strided.*|view|reshape|_reshape_alias|_unsafe_view|transpose|t|permute|expand|slice|select|squeeze.*|unsqueeze.*|split.*|narrow|detach.*|alias")),
            // dropout's masks, drawn one value at a time from the engine's generator (BERT's own dropouts, LoRA's)
            new Category("dropout masks (random draws)", n -> n.matches("bernoulli_?|uniform_|normal_|random_|rand.*")),
            new Category("element-wise and reductions", n -> true));

    /** The categories, in the order {@link #selfMs} lists them, then {@link #OUTSIDE}. */
    public static List<String> categories() {
        List<String> names = new ArrayList<>(CATEGORIES.stream().map(Category::name).toList());
        names.add(OUTSIDE);
        return names;
    }

    /** Runs {@code work} ({@code steps} steps, or decoded tokens) under libtorch's profiler, writes its trace to {@code trace} and reads it. */
    public static StepProfile record(Path trace, int steps, Runnable work) {
        ai.djl.pytorch.jni.JniUtils.startProfile(false, false, false);
        long t0 = System.nanoTime();
        double wallMs;
        try {
            work.run();
        } finally {
            wallMs = (System.nanoTime() - t0) / 1e6;
            ai.djl.pytorch.jni.JniUtils.stopProfile(trace.toString());
        }
        return of(trace, steps, wallMs);
    }

    /** Reads a Chrome trace of {@code steps} steps that took {@code wallMs} in all. */
    public static StepProfile of(Path trace, int steps, double wallMs) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(trace.toFile());
        } catch (IOException e) {
            throw new FfwdException(trace + ": cannot read the profiler's trace: " + e.getMessage());
        }
        JsonNode events = root.isArray() ? root : root.path("traceEvents");
        Map<String, List<double[]>> byThread = new LinkedHashMap<>();  // thread → [start, duration, category]
        for (JsonNode e : events) {
            if (!"X".equals(e.path("ph").asText()) || !e.has("dur")) continue;
            String op = e.path("name").asText().replaceFirst("^aten::", "");
            int cat = 0;
            while (!CATEGORIES.get(cat).ops().test(op)) cat++;
            byThread.computeIfAbsent(e.path("pid").asText() + "/" + e.path("tid").asText(), k -> new ArrayList<>())
                    .add(new double[]{e.path("ts").asDouble(), e.path("dur").asDouble(), cat});
        }
        double[] self = new double[CATEGORIES.size()];  // µs
        for (List<double[]> ops : byThread.values()) {
            ops.sort(Comparator.<double[]>comparingDouble(o -> o[0]).thenComparingDouble(o -> -o[1]));  // parents before children
            Deque<double[]> open = new ArrayDeque<>();  // [end, category, children's time]
            for (double[] o : ops) {
                while (!open.isEmpty() && open.peek()[0] <= o[0]) close(open.pop(), self);
                if (!open.isEmpty()) open.peek()[2] += o[1];
                open.push(new double[]{o[0] + o[1], o[2], 0, o[1]});
            }
            while (!open.isEmpty()) close(open.pop(), self);
        }
        Map<String, Double> perStep = new LinkedHashMap<>();
        double inOps = 0;
        for (int i = 0; i < self.length; i++) {
            perStep.put(CATEGORIES.get(i).name(), self[i] / 1000 / steps);
            inOps += self[i] / 1000 / steps;
        }
        perStep.put(OUTSIDE, Math.max(0, wallMs / steps - inOps));
        return new StepProfile(wallMs / steps, perStep);
    }

    /** An op's self time: its duration less its children's, added to its category. */
    private static void close(double[] op, double[] self) {
        self[(int) op[1]] += Math.max(0, op[3] - op[2]);
    }

    /** A Markdown table: each category's time per step and share of the step's wall time. */
    public String table() {
        return table("step");
    }

    /** As {@link #table()}, for a profile of some other {@code unit} of work (a decoded token). */
    public String table(String unit) {
        StringBuilder sb = new StringBuilder("| where | ms per " + unit + " | share of the " + unit + " |\n|---|---:|---:|\n");
        selfMs.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "| %s | %.1f | %.0f%% |%n", k, v, 100 * v / wallMs)));
        sb.append(String.format(Locale.ROOT, "| **the %s (wall, profiled)** | %.1f | 100%% |%n", unit, wallMs));
        return sb.toString();
    }
}
