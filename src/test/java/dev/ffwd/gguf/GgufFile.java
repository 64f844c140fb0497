package dev.ffwd.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An independent GGUF parser for tests, written from the GGUF specification (ggml's docs/gguf.md), not from our writer:
 * every value type, arrays, general.alignment, and strict checks that offsets are aligned and data lies inside the file.
 */
final class GgufFile {

    record TensorInfo(String name, long[] ne, int type, long offset) {}

    final int version;
    final Map<String, Object> kv = new LinkedHashMap<>();
    final Map<String, Integer> kvType = new LinkedHashMap<>();
    final List<TensorInfo> tensors = new ArrayList<>();
    private final ByteBuffer buf;
    private final long dataStart;

    GgufFile(Path file) throws IOException {
        buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        buf.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) throw new IllegalStateException("bad magic");
        version = buf.getInt();
        long nTensors = buf.getLong(), nKv = buf.getLong();
        for (long i = 0; i < nKv; i++) {
            String key = string();
            int type = buf.getInt();
            kvType.put(key, type);
            if (kv.put(key, value(type)) != null) throw new IllegalStateException("duplicate key " + key);
        }
        for (long i = 0; i < nTensors; i++) {
            String name = string();
            int dims = buf.getInt();
            if (dims < 1 || dims > 4) throw new IllegalStateException(name + ": " + dims + " dims");
            long[] ne = new long[dims];
            for (int d = 0; d < dims; d++) ne[d] = buf.getLong();
            tensors.add(new TensorInfo(name, ne, buf.getInt(), buf.getLong()));
        }
        long alignment = kv.containsKey("general.alignment") ? ((Number) kv.get("general.alignment")).longValue() : 32;
        dataStart = (buf.position() + alignment - 1) / alignment * alignment;
        for (int i = buf.position(); i < dataStart; i++) if (buf.get(i) != 0) throw new IllegalStateException("non-zero padding");
        for (TensorInfo t : tensors) {
            if (t.offset() % alignment != 0) throw new IllegalStateException(t.name() + ": offset " + t.offset() + " not aligned");
            if (dataStart + t.offset() + bytes(t) > buf.capacity()) throw new IllegalStateException(t.name() + ": data past the end");
        }
    }

    private Object value(int type) {
        return switch (type) {
            case 0, 1 -> buf.get();
            case 2, 3 -> buf.getShort();
            case 4, 5 -> buf.getInt();
            case 6 -> buf.getFloat();
            case 7 -> buf.get() != 0;
            case 8 -> string();
            case 9 -> {
                int et = buf.getInt();
                long n = buf.getLong();
                List<Object> a = new ArrayList<>();
                for (long i = 0; i < n; i++) a.add(value(et));
                yield a;
            }
            case 10, 11 -> buf.getLong();
            case 12 -> buf.getDouble();
            default -> throw new IllegalStateException("unknown value type " + type);
        };
    }

    private String string() {
        long n = buf.getLong();
        byte[] b = new byte[Math.toIntExact(n)];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static long numel(TensorInfo t) {
        long n = 1;
        for (long d : t.ne()) n *= d;
        return n;
    }

    static long bytes(TensorInfo t) {
        return numel(t) * switch (t.type()) {
            case 0 -> 4;
            case 1 -> 2;
            default -> throw new IllegalStateException(t.name() + ": type " + t.type());
        };
    }

    TensorInfo tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no tensor " + name));
    }

    /** The values of an F32 or F16 tensor, in file order (ne[0] fastest). */
    float[] values(String name) {
        TensorInfo t = tensor(name);
        float[] v = new float[Math.toIntExact(numel(t))];
        int p = Math.toIntExact(dataStart + t.offset());
        for (int i = 0; i < v.length; i++)
            v[i] = t.type() == 0 ? buf.getFloat(p + 4 * i) : halfToFloat(buf.getShort(p + 2 * i));
        return v;
    }

    private static float halfToFloat(short h) {
        int s = (h >> 15) & 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double v = e == 0 ? m * Math.pow(2, -24) : e == 31 ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN) : (1 + m / 1024.0) * Math.pow(2, e - 15);
        return (float) (s == 1 ? -v : v);
    }
}
