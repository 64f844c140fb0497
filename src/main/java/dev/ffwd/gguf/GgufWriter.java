package dev.ffwd.gguf;

import dev.ffwd.FfwdException;
import dev.ffwd.io.AtomicFiles;
import dev.ffwd.io.Half;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A GGUF v3 file (ggml's model format, little-endian): header, key-value metadata, tensor descriptions, then the
 * tensor data, each tensor at an offset aligned to {@value #ALIGNMENT} bytes. What adapters and models
 * need: string, uint32, int32, float32 and bool values, arrays of strings, int32 and float32; F32, F16, BF16 and Q8_0
 * tensors, encoded as ggml's reference code encodes them. Tensor values are produced one tensor at a time while
 * writing, so a model is never held twice.
 */
public final class GgufWriter {

    public static final int MAGIC = 0x46554747;  // "GGUF" read as a little-endian uint32
    public static final int VERSION = 3;
    public static final int ALIGNMENT = 32;       // GGUF's default (general.alignment absent)

    /** GGUF metadata value types (gguf_type). */
    static final int TYPE_UINT32 = 4, TYPE_INT32 = 5, TYPE_FLOAT32 = 6, TYPE_BOOL = 7, TYPE_STRING = 8, TYPE_ARRAY = 9;

    /**
     * ggml tensor types ({@code ggml_type}), each stored as blocks of {@code block} values in {@code blockBytes} bytes
     * along a row; {@code fileType} is llama.cpp's {@code llama_ftype} for a model whose matrices have this type
     * (general.file_type: ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0).
     */
    public enum TensorType {
        F32(0, 1, 4, 0), F16(1, 1, 2, 1), BF16(30, 1, 2, 32), Q8_0(8, 32, 34, 7);

        public final int id, fileType;
        final int block, blockBytes;

        TensorType(int id, int block, int blockBytes, int fileType) {
            this.id = id;
            this.block = block;
            this.blockBytes = blockBytes;
            this.fileType = fileType;
        }

        long bytes(long values) {
            return values / block * blockBytes;
        }
    }

    /**
     * A tensor: {@code ne} in ggml's order (fastest-varying dimension first, the reverse of numpy's shape); values
     * row-major in numpy's order, so a numpy array of shape (a, b) is written with ne [b, a]. {@code values} is called
     * once, when the tensor's data is written; it must give exactly the values {@code ne} holds. {@code alwaysF32}:
     * written as F32 whatever type matrices get, as llama.cpp's converter keeps position and token-type tables.
     */
    public record Tensor(String name, long[] ne, Supplier<float[]> values, boolean alwaysF32) {
        public Tensor {
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name is empty");
            if (ne.length < 1 || ne.length > 4) throw new IllegalArgumentException(name + ": " + ne.length + " dimensions (GGUF takes 1 to 4)");
            for (long d : ne) if (d < 1) throw new IllegalArgumentException(name + ": dimension " + d);
            if (count(ne) > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(name + ": too many values for one array");
            ne = ne.clone();
        }

        /** A tensor written as the matrices' type (a vector: as F32). */
        public Tensor(String name, long[] ne, Supplier<float[]> values) {
            this(name, ne, values, false);
        }

        /** A tensor whose values are already at hand; their count is checked now. */
        public Tensor(String name, long[] ne, float[] values) {
            this(name, ne, () -> values);
            if (count(ne) != values.length) throw new IllegalArgumentException(name + ": ne " + java.util.Arrays.toString(ne) + " holds "
                    + count(ne) + " values, got " + values.length);
        }

        @Override
        public long[] ne() {
            return ne.clone();
        }

        long count() {
            return count(ne);
        }

        private static long count(long[] ne) {
            long n = 1;
            for (long d : ne) n *= d;
            return n;
        }
    }

    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    public GgufWriter string(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter float32(String key, float value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter uint32(String key, int value) {
        metadata.put(key, new UInt32(value));
        return this;
    }

    public GgufWriter int32(String key, int value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter bool(String key, boolean value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter strings(String key, List<String> values) {
        metadata.put(key, new Strings(List.copyOf(values)));
        return this;
    }

    public GgufWriter int32s(String key, int[] values) {
        metadata.put(key, values.clone());
        return this;
    }

    public GgufWriter float32s(String key, float[] values) {
        metadata.put(key, values.clone());
        return this;
    }

    private record UInt32(int value) {}

    private record Strings(List<String> values) {}

    public GgufWriter tensor(Tensor t) {
        if (tensors.stream().anyMatch(x -> x.name().equals(t.name()))) throw new IllegalArgumentException("duplicate tensor " + t.name());
        tensors.add(t);
        return this;
    }

    /**
     * Writes the file atomically: matrices (2 or more dimensions) as {@code type}; vectors (norms, biases) always as
     * F32, as llama.cpp's converter keeps them, because ggml's CPU kernels add and multiply by them in F32; and as
     * {@link #typeOf} says for the rest. Matrices that cannot be {@code type} are named in a note on stderr.
     */
    public void write(Path file, TensorType type) throws IOException {
        List<String> fallbacks = tensors.stream().filter(t -> t.ne.length >= 2 && !t.alwaysF32 && typeOf(t, type) != type).map(Tensor::name).toList();
        if (!fallbacks.isEmpty())
            System.err.println("note: " + file + ": " + fallbacks.size() + " matri" + (fallbacks.size() == 1 ? "x has rows" : "ces have rows")
                    + " not a multiple of " + type.block + " values, written as F16 instead of " + type + " (as llama.cpp's converter does): "
                    + String.join(", ", fallbacks));
        AtomicFiles.write(file, os -> {
            Out out = new Out(os);
            out.u32(MAGIC);
            out.u32(VERSION);
            out.u64(tensors.size());
            out.u64(metadata.size());
            for (Map.Entry<String, Object> e : metadata.entrySet()) {
                out.str(e.getKey());
                Object v = e.getValue();
                if (v instanceof String s) { out.u32(TYPE_STRING); out.str(s); }
                else if (v instanceof Float f) { out.u32(TYPE_FLOAT32); out.f32(f); }
                else if (v instanceof UInt32 u) { out.u32(TYPE_UINT32); out.u32(u.value()); }
                else if (v instanceof Integer i) { out.u32(TYPE_INT32); out.u32(i); }
                else if (v instanceof Boolean b) { out.u32(TYPE_BOOL); out.bytes(new byte[]{(byte) (b ? 1 : 0)}); }
                else if (v instanceof Strings a) {
                    out.u32(TYPE_ARRAY);
                    out.u32(TYPE_STRING);
                    out.u64(a.values().size());
                    for (String x : a.values()) out.str(x);
                } else if (v instanceof int[] a) {
                    out.u32(TYPE_ARRAY);
                    out.u32(TYPE_INT32);
                    out.u64(a.length);
                    for (int x : a) out.u32(x);
                } else if (v instanceof float[] a) {
                    out.u32(TYPE_ARRAY);
                    out.u32(TYPE_FLOAT32);
                    out.u64(a.length);
                    for (float x : a) out.f32(x);
                } else throw new IllegalStateException("unsupported metadata value " + v);
            }
            long offset = 0;
            for (Tensor t : tensors) {
                out.str(t.name());
                out.u32(t.ne.length);
                for (long d : t.ne) out.u64(d);
                out.u32(typeOf(t, type).id);
                out.u64(offset);
                offset = align(offset + typeOf(t, type).bytes(t.count()));
            }
            out.pad();
            for (Tensor t : tensors) {
                float[] values = t.values().get();
                if (values.length != t.count())
                    throw new IllegalStateException(t.name() + ": ne " + java.util.Arrays.toString(t.ne) + " holds " + t.count() + " values, got " + values.length);
                String what = file + ": tensor '" + t.name() + "'";
                for (int from = 0; from < values.length; from += ENCODE_CHUNK)  // a 2 GB tensor (Llama-3-8B's embedding at F32) fits no byte[]
                    out.bytes(encode(values, from, Math.min(values.length, from + ENCODE_CHUNK), typeOf(t, type), what));
                out.pad();
            }
        });
    }

    /**
     * The type {@code t} is written as when matrices are {@code matrices}: F32 for vectors and {@code alwaysF32}
     * tables; F16 for a matrix whose rows (ne[0]) are not whole blocks of {@code matrices}, as llama.cpp's converter
     * falls back (gguf-py's quantize raises QuantError for them); otherwise {@code matrices}.
     */
    static TensorType typeOf(Tensor t, TensorType matrices) {
        if (t.ne.length < 2 || t.alwaysF32) return TensorType.F32;
        return t.ne[0] % matrices.block == 0 ? matrices : TensorType.F16;
    }

    /**
     * {@code values} as {@code type}'s little-endian bytes, as ggml's reference code encodes them; {@code what} names
     * the tensor in errors. A finite value must not turn into infinity, nor a Q8_0 block lose its scale: such a value
     * is an error (the atomic write then leaves no file behind).
     */
    static byte[] encode(float[] values, TensorType type, String what) {
        return encode(values, 0, values.length, type, what);
    }

    /** Values per {@link #encode} call when a tensor is written: 16 MB at F32, and whole Q8_0 blocks. */
    static final int ENCODE_CHUNK = 1 << 22;

    /** {@link #encode(float[], TensorType, String)} of {@code values[from, to)}; {@code from} starts a block. */
    static byte[] encode(float[] values, int from, int to, TensorType type, String what) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(type.bytes(to - from))).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> b.asFloatBuffer().put(values, from, to - from);
            case F16 -> {
                for (int i = from; i < to; i++) {
                    float v = values[i];
                    if (Float.isFinite(v) && Math.abs(v) > Half.MAX)
                        throw new FfwdException(what + " holds " + v + ", beyond F16's range (±65504); write it as F32");
                    b.putShort(Half.fromFloat(v));
                }
            }
            case BF16 -> {
                for (int i = from; i < to; i++) {
                    float v = values[i];
                    short h = Half.bf16FromFloat(v);
                    if (Float.isFinite(v) && (h & 0x7fff) == 0x7f80)
                        throw new FfwdException(what + " holds " + v + ", beyond BF16's range; write it as F32");
                    b.putShort(h);
                }
            }
            case Q8_0 -> {
                for (int i = from; i < to; i += type.block) q8_0(values, i, b, what);
            }
        }
        return b.array();
    }

    /**
     * One Q8_0 block, the 32 values from {@code from}, as ggml's {@code quantize_row_q8_0_ref} writes it: the scale
     * d = max|x| / 127 as F16, then each x·(1/d) rounded half away from zero (C's roundf) as an int8; an all-zero
     * block has d = 0 and zero quants. The quants use d before its F16 rounding, as ggml's do.
     */
    private static void q8_0(float[] v, int from, ByteBuffer b, String what) {
        float amax = 0;
        for (int j = from; j < from + TensorType.Q8_0.block; j++) {
            if (!Float.isFinite(v[j])) throw new FfwdException(what + " holds " + v[j] + ", which Q8_0 cannot hold; write it as F32");
            amax = Math.max(amax, Math.abs(v[j]));
        }
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        if (d > Half.MAX) throw new FfwdException(what + " holds " + amax + ", whose Q8_0 scale is beyond F16's range (±65504); write it as F32");
        b.putShort(Half.fromFloat(d));
        for (int j = from; j < from + TensorType.Q8_0.block; j++) {
            double x = v[j] * id;  // the product in float, as ggml's; rounded in double, where |x| + 0.5 is exact
            b.put((byte) (Math.signum(x) * Math.floor(Math.abs(x) + 0.5)));
        }
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** Little-endian output that counts bytes, for padding. */
    private static final class Out {
        private final OutputStream os;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(OutputStream os) {
            this.os = new java.io.BufferedOutputStream(os, 1 << 16);
        }

        void bytes(byte[] b) throws IOException {
            os.write(b);
            written += b.length;
        }

        void u32(int v) throws IOException {
            scratch.clear();
            bytes(java.util.Arrays.copyOf(scratch.putInt(v).array(), 4));
        }

        void u64(long v) throws IOException {
            scratch.clear();
            bytes(java.util.Arrays.copyOf(scratch.putLong(v).array(), 8));
        }

        void f32(float v) throws IOException {
            u32(Float.floatToRawIntBits(v));
        }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void pad() throws IOException {
            int n = (int) (align(written) - written);
            if (n > 0) bytes(new byte[n]);
            os.flush();
        }
    }
}
