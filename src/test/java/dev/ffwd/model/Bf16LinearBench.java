package dev.ffwd.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Times a frozen linear layer x[8, 128, in]·Wᵀ in fp32 (the engine's fused linear, as {@link Ops#linear}) against the
 * bf16 TorchScript module of {@link Bf16}, forward and forward + input gradient, interleaved in one process so
 * that the ratios compare (docs/performance.md, "BF16 compute: what the engine allows"). Arguments: THREADS REPEATS
 * [fp16] (fp16: also the engine's FLOAT16 linear, forward only, one call per repeat: it is slow).
 */
public final class Bf16LinearBench {

    private Bf16LinearBench() {}

    public static void main(String[] args) {
        Engine engine = Engine.getEngine("PyTorch");
        int threads = Integer.parseInt(args[0]), repeats = Integer.parseInt(args[1]);
        boolean fp16 = args.length > 2 && args[2].equals("fp16");
        JniUtils.setNumThreads(threads);
        JniUtils.setNumInteropThreads(1);
        JniUtils.setGraphExecutorOptimize(false);  // the script is one op: nothing to fuse, and no profiling runs
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager()) {
            for (long[] s : new long[][]{{512, 2048}, {1024, 4096}}) {
                long in = s[0], out = s[1];
                NDArray w = m.randomNormal(new Shape(out, in)).div(Math.sqrt(in));
                NDArray x = m.randomNormal(new Shape(8, 128, in));
                NDArray wb = Bf16.weight(w);
                NDArray w16 = w.toType(DataType.FLOAT16, false), x16 = x.toType(DataType.FLOAT16, false);
                Map<String, Runnable> runs = new LinkedHashMap<>();
                runs.put("fp32 fwd", () -> forward(m, x, a -> Ops.linear(a, w, null)));
                runs.put("bf16 fwd", () -> forward(m, x, a -> Bf16.linear(a, wb, null)));
                runs.put("fp32 fwd+bwd", () -> backward(engine, m, x, a -> Ops.linear(a, w, null)));
                runs.put("bf16 fwd+bwd", () -> backward(engine, m, x, a -> Bf16.linear(a, wb, null)));
                if (fp16) runs.put("fp16 fwd", () -> forward(m, x16, a -> Ops.linear(a, w16, null)));
                Map<String, List<Double>> gflops = new LinkedHashMap<>();
                runs.forEach((k, r) -> {
                    r.run();  // warm-up
                    gflops.put(k, new ArrayList<>());
                });
                double flop = 2.0 * 8 * 128 * in * out;
                for (int rep = 0; rep < repeats; rep++) {
                    for (var e : runs.entrySet()) {
                        int calls = e.getKey().startsWith("fp16") ? 1 : 3;
                        long t0 = System.nanoTime();
                        for (int i = 0; i < calls; i++) e.getValue().run();
                        double seconds = (System.nanoTime() - t0) / 1e9 / calls;
                        gflops.get(e.getKey()).add((e.getKey().contains("bwd") ? 2 : 1) * flop / seconds / 1e9);
                    }
                }
                System.out.printf(Locale.ROOT, "x[8,128,%d]·W[%d,%d]ᵀ, %d threads, %d repeats; GFLOP/s min/median/max (fwd+bwd: 2 products)%n",
                        in, out, in, threads, repeats);
                gflops.forEach((k, v) -> System.out.println("  " + k + " ".repeat(14 - k.length()) + summary(v)));
                for (String pass : List.of("fwd", "fwd+bwd")) {
                    List<Double> ratios = new ArrayList<>();
                    for (int rep = 0; rep < repeats; rep++) ratios.add(gflops.get("bf16 " + pass).get(rep) / gflops.get("fp32 " + pass).get(rep));
                    System.out.println("  bf16/fp32 " + pass + " ".repeat(9 - pass.length()) + summary(ratios));
                }
            }
        }
    }

    interface Layer {
        NDArray apply(NDArray x);
    }

    static void forward(NDManager m, NDArray x, Layer layer) {
        try (NDManager step = m.newSubManager()) {
            layer.apply(x).attach(step);
        }
    }

    /** Forward, then backward to the input only (the weight is frozen): two products of the layer's size. */
    static void backward(Engine engine, NDManager m, NDArray x, Layer layer) {
        try (NDManager step = m.newSubManager(); GradientCollector gc = engine.newGradientCollector()) {
            NDArray xi = x.duplicate();
            xi.attach(step);
            xi.setRequiresGradient(true);
            NDArray y = layer.apply(xi);
            y.attach(step);
            gc.backward(y.sum());
            xi.getGradient().attach(step);
        }
    }

    static String summary(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return String.format(Locale.ROOT, "%7.2f %7.2f %7.2f", s.get(0), s.get(s.size() / 2), s.get(s.size() - 1));
    }
}
