package dev.ffwd.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads safetensors files zero-copy: each tensor is a read-only memory-mapped slice (files may exceed 2 GB).
 * The header is validated completely before any tensor is handed out.
 */
public final class SafetensorsReader {

    /** Headers beyond this are rejected rather than allocated (real ones are kilobytes to a few MB). */
    public static final long MAX_HEADER = 100L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsReader() {}

    public static TensorStore open(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw bad(file, "file of " + size + " bytes is too short for a safetensors header");
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, file);
            long n = len.getLong(0);
            if (n < 0 || n > MAX_HEADER) throw bad(file, "header length " + Long.toUnsignedString(n) + " exceeds the 100 MB cap");
            if (8 + n > size) throw bad(file, "header length " + n + " runs past the end of the file (" + size + " bytes); truncated?");
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8, file);
            JsonNode header = parseHeader(file, hb.flip());
            long dataStart = 8 + n, dataLen = size - dataStart;
            Map<String, String> meta = new LinkedHashMap<>();
            Map<String, Entry> entries = entries(file, header, dataLen, meta);
            Map<String, RawTensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries.values()) {
                if (e.end - e.begin > Integer.MAX_VALUE)
                    throw bad(file, "tensor '" + e.name + "' is larger than 2 GB, which is not supported");
                ByteBuffer data = e.end == e.begin ? ByteBuffer.allocate(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, e.end - e.begin);
                tensors.put(e.name, new RawTensor(e.name, e.dtype, e.shape, data.order(ByteOrder.LITTLE_ENDIAN)));
            }
            return store(file, tensors, meta);
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read: " + e);
        }
    }

    /** A model folder: {@code model.safetensors}, or shards listed in {@code model.safetensors.index.json}. */
    public static TensorStore openModelDir(Path dir) {
        Path index = dir.resolve("model.safetensors.index.json"), single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) return open(single);
        if (!Files.isRegularFile(index)) {
            String hint = Files.exists(dir.resolve("pytorch_model.bin")) ? " (pytorch_model.bin is not supported: convert it to safetensors)" : "";
            throw new FfwdException(dir + ": no model.safetensors or model.safetensors.index.json" + hint);
        }
        JsonNode map;
        try {
            map = JSON.readTree(index.toFile()).get("weight_map");
        } catch (IOException e) {
            throw new FfwdException(index + ": invalid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (map == null || !map.isObject()) throw new FfwdException(index + ": missing object 'weight_map'");
        Map<String, TensorStore> shards = new LinkedHashMap<>();
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String shard = f.getValue().asText();
            if (shard.contains("/") || shard.contains("\\")) throw new FfwdException(index + ": shard name '" + shard + "' must be a plain file name");
            TensorStore s = shards.computeIfAbsent(shard, k -> open(dir.resolve(k)));
            if (!s.contains(f.getKey()))
                throw new FfwdException(index + ": tensor '" + f.getKey() + "' is listed in shard " + shard + " but that shard lacks it");
            tensors.put(f.getKey(), s.get(f.getKey()));
        }
        return store(index, tensors, Map.of());
    }

    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

    private static Map<String, Entry> entries(Path file, JsonNode header, long dataLen, Map<String, String> meta) {
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw bad(file, "__metadata__ must be an object of strings");
                v.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual()) throw bad(file, "__metadata__ value '" + m.getKey() + "' is not a string");
                    meta.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            String where = "tensor '" + name + "': ";
            if (!v.isObject()) throw bad(file, where + "entry is not an object");
            DType dt;
            try {
                dt = DType.valueOf(v.path("dtype").asText("?"));
            } catch (IllegalArgumentException e) {
                throw bad(file, where + "unknown dtype " + v.get("dtype"));
            }
            JsonNode sh = v.get("shape"), off = v.get("data_offsets");
            if (sh == null || !sh.isArray()) throw bad(file, where + "missing shape");
            long[] shape = new long[sh.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!sh.get(i).canConvertToLong() || !sh.get(i).isIntegralNumber() || sh.get(i).asLong() < 0)
                    throw bad(file, where + "shape " + sh + " has an invalid dimension");
                shape[i] = sh.get(i).asLong();
                try {
                    numel = Math.multiplyExact(numel, shape[i]);
                } catch (ArithmeticException overflow) {
                    throw bad(file, where + "shape " + sh + " overflows");
                }
            }
            if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                    || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())
                throw bad(file, where + "data_offsets must be two integers");
            long b = off.get(0).asLong(), e = off.get(1).asLong();
            if (b < 0 || e < b) throw bad(file, where + "data_offsets [" + b + "," + e + "] are not an ordered range");
            if (e > dataLen) throw bad(file, where + "data_offsets [" + b + "," + e + "] run past the data section of " + dataLen + " bytes; truncated?");
            if (numel > Long.MAX_VALUE / dt.bytes || e - b != numel * dt.bytes)
                throw bad(file, where + "data_offsets [" + b + "," + e + "] hold " + (e - b) + " bytes but " + dt + sh + " needs " + numel * dt.bytes);
            out.put(name, new Entry(name, dt, shape, b, e));
        }
        List<Entry> sorted = new ArrayList<>(out.values());
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry p = sorted.get(i - 1), c = sorted.get(i);
            if (c.begin < p.end) throw bad(file, "tensors '" + p.name + "' and '" + c.name + "' overlap in the data section");
        }
        return out;
    }

    private static JsonNode parseHeader(Path file, ByteBuffer bytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw bad(file, "header is not valid UTF-8");
        }
        JsonNode n;
        try {
            n = JSON.readTree(text.stripTrailing());
        } catch (IOException e) {
            throw bad(file, "header is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) throw bad(file, "header is not a JSON object");
        return n;
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) throw bad(file, "unexpected end of file");
        }
    }

    private static FfwdException bad(Path file, String msg) {
        return new FfwdException(file + ": " + msg);
    }

    private static TensorStore store(Path file, Map<String, RawTensor> tensors, Map<String, String> meta) {
        Map<String, String> m = Map.copyOf(meta);
        Map<String, RawTensor> live = java.util.Collections.synchronizedMap(new LinkedHashMap<>(tensors));
        return new TensorStore() {
            public java.util.Set<String> names() { return live.keySet(); }
            public RawTensor get(String name) {
                RawTensor t = live.get(name);
                if (t == null) throw new FfwdException(file + ": missing tensor '" + name + "'");
                return t;
            }
            public Path source() { return file; }
            public Map<String, String> metadata() { return m; }
            public void release(String name) {
                RawTensor t = live.remove(name);
                if (t != null) unmap(t.data());
            }
        };
    }

    /**
     * Unmaps a mapping now instead of at some later garbage collection (the JDK has no public call for it; this is
     * the one its own tests use). Only for a buffer nothing reads any more: a read after it would crash the JVM.
     */
    private static void unmap(ByteBuffer b) {
        if (!(b instanceof java.nio.MappedByteBuffer)) return;
        try {
            java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            ((sun.misc.Unsafe) f.get(null)).invokeCleaner(b);
        } catch (ReflectiveOperationException | IllegalArgumentException e) {
            // a slice or an unusual JDK: the pages go with the next collection instead
        }
    }
}
