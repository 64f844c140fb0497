package dev.ffwd.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.ffwd.FfwdException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript module written here as serialized TorchScript source (no Python, no committed binary) and loaded once
 * per process: the way to run ops that DJL cannot name (bf16 casts, {@link Bf16}) or to run several small ops in one
 * JNI call ({@link Fused}). Methods take and return tensors only; an integer goes in as a 0-d int64 tensor.
 */
final class TorchScript {

    private final String name;
    private final String code;
    private PtSymbolBlock module;                        // made on first use; lives as long as the process
    private final Map<String, NDArray> methods = new HashMap<>();

    /**
     * The module class {@code name} with {@code methods}: their serialized TorchScript source, indented two spaces, with
     * {@code self: __torch__.<name>} and every type written out, as libtorch's importer reads them.
     */
    TorchScript(String name, String methods) {
        this.name = name;
        this.code = String.join("\n", "class " + name + "(Module):", "  __parameters__ = []", "  __buffers__ = []",
                "  training : bool", methods);
    }

    /**
     * Runs {@code method} on {@code inputs}; the results belong to the first input's manager. Autograd records through it
     * (DJL's plain {@code runMethod} runs under libtorch's inference guard, whose tensors cannot be saved for backward).
     */
    NDList run(String method, NDArray... inputs) {
        NDList list = new NDList(inputs.length + 1);
        list.addAll(java.util.Arrays.asList(inputs));
        if (!method.equals("forward")) list.add(marker(method));
        // Thread-local in libtorch: without it the profiling executor instruments the first calls of each thread.
        JniUtils.setGraphExecutorOptimize(false);
        return IValueUtils.forward(module(), list, true);
    }

    private synchronized PtSymbolBlock module() {
        if (module == null) {
            PtNDManager m = (PtNDManager) NDManager.newBaseManager();  // never closed: the module serves the whole process
            try {
                module = JniUtils.loadModule(m, new ByteArrayInputStream(archive()), true, false);
            } catch (IOException e) {
                throw new FfwdException(name + ": cannot load the TorchScript module: " + e.getMessage());
            }
        }
        return module;
    }

    /** The array whose name tells DJL's IValueUtils which method to run (its way of naming one other than forward). */
    private synchronized NDArray marker(String method) {
        return methods.computeIfAbsent(method, k -> {
            NDArray a = NDManager.newBaseManager().zeros(new Shape(1));  // never closed, as the module
            a.setName("module_method:" + k);
            return a;
        });
    }

    /**
     * The TorchScript archive: the pickled module object, its class as serialized TorchScript source, an empty
     * constants table and the format version.
     */
    private byte[] archive() throws IOException {
        // Pickle protocol 2 of __torch__.<name>() with state {"training": True}: PROTO 2, GLOBAL, EMPTY_TUPLE, NEWOBJ,
        // EMPTY_DICT, MARK, BINUNICODE (4-byte little-endian length), NEWTRUE, SETITEMS, BUILD, STOP.
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.write(new byte[]{(byte) 0x80, 2});
        pickle.write(("c__torch__\n" + name + "\n)\u0081}(X").getBytes(StandardCharsets.ISO_8859_1));
        pickle.write(new byte[]{8, 0, 0, 0});
        pickle.write("training\u0088ub.".getBytes(StandardCharsets.ISO_8859_1));
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        String dir = name.toLowerCase(java.util.Locale.ROOT);
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            entry(z, dir + "/data.pkl", pickle.toByteArray());
            entry(z, dir + "/code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
            entry(z, dir + "/constants.pkl", new byte[]{(byte) 0x80, 2, ')', '.'});
            // The operator version the source is written against: 10 reads today's schemas (gelu's approximate among
            // them); an older number makes the importer apply upgraders that restore older operators' signatures.
            entry(z, dir + "/version", "10\n".getBytes(StandardCharsets.US_ASCII));
        }
        return zip.toByteArray();
    }

    private static void entry(ZipOutputStream z, String name, byte[] bytes) throws IOException {
        z.putNextEntry(new ZipEntry(name));
        z.write(bytes);
        z.closeEntry();
    }
}
