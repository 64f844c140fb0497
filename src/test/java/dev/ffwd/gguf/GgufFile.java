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
 * every value type, arrays, general.alignment, and strict checks that offsets are aligned and data lies inside the file;
 * tensor data of the types ffwd writes, decoded as ggml-common.h lays out their blocks.
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

    /** Bytes of F32 (type 0), F16 (1), BF16 (30), and Q8_0 (8: per 32 values along ne[0], an F16 scale and 32 int8). */
    static long bytes(TensorInfo t) {
        if (t.type() == Q8_0) {
            if (t.ne()[0] % 32 != 0) throw new IllegalStateException(t.name() + ": Q8_0 rows of " + t.ne()[0] + " values");
            return numel(t) / 32 * 34;
        }
        return numel(t) * switch (t.type()) {
            case 0 -> 4;
            case 1, 30 -> 2;
            default -> throw new IllegalStateException(t.name() + ": type " + t.type());
        };
    }

    static final int Q8_0 = 8;

    TensorInfo tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no tensor " + name));
    }

    /** The values of an F32, F16, BF16 or Q8_0 tensor, in file order (ne[0] fastest); Q8_0 dequantized as q·d. */
    float[] values(String name) {
        TensorInfo t = tensor(name);
        return decode(buf, Math.toIntExact(dataStart + t.offset()), t.type(), Math.toIntExact(numel(t)));
    }

    /** {@code n} values of ggml type {@code type} from little-endian {@code b} at {@code p}. */
    static float[] decode(ByteBuffer b, int p, int type, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = switch (type) {
                case 0 -> b.getFloat(p + 4 * i);
                case 1 -> halfToFloat(b.getShort(p + 2 * i));
                case 30 -> Float.intBitsToFloat(b.getShort(p + 2 * i) << 16);  // the upper half of a float32
                case Q8_0 -> halfToFloat(b.getShort(p + i / 32 * 34)) * b.get(p + i / 32 * 34 + 2 + i % 32);
                default -> throw new IllegalStateException("type " + type);
            };
        return v;
    }

    static float halfToFloat(short h) {
        int s = (h >> 15) & 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double v = e == 0 ? m * Math.pow(2, -24) : e == 31 ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN) : (1 + m / 1024.0) * Math.pow(2, e - 15);
        return (float) (s == 1 ? -v : v);
    }
}
