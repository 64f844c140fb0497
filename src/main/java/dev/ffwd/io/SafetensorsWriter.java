package dev.ffwd.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files atomically: tensors in the given order, header padded to 8 bytes. {@link #write} takes
 * tensors already in memory; {@link #stream} writes the header from the tensors' shapes alone and then produces each
 * tensor's values chunk by chunk, so a file far larger than the heap (a generated 16 GB checkpoint) needs one chunk.
 */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Values produced and encoded at once by {@link #stream}: 4 MB of floats. */
    static final int CHUNK = 1 << 20;

    /** A tensor to be written: its name, element type and shape. */
    public record Spec(String name, DType dtype, long[] shape) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long bytes() {
            return numel() * dtype.bytes;
        }
    }

    /** The values of a streamed tensor, asked for in order: fill {@code out} with elements {@code start} … of {@code t}. */
    @FunctionalInterface
    public interface Values {
        void fill(Spec t, long start, float[] out);
    }

    private SafetensorsWriter() {}

    public static void write(Path file, Collection<RawTensor> tensors, Map<String, String> metadata) throws IOException {
        for (RawTensor t : tensors) {
            long n = t.data().remaining();
            if (n != t.numel() * t.dtype().bytes) throw new IllegalArgumentException(t + ": holds " + n + " bytes");
        }
        byte[] header = header(tensors.stream().map(t -> new Spec(t.name(), t.dtype(), t.shape())).toList(), metadata);
        AtomicFiles.write(file, raw -> {
            OutputStream out = new BufferedOutputStream(raw, 1 << 20);
            out.write(header);
            WritableByteChannel ch = Channels.newChannel(out);
            for (RawTensor t : tensors) {
                ByteBuffer d = t.data().duplicate();
                while (d.hasRemaining()) ch.write(d);
            }
            out.flush();
        });
    }

    /**
     * Writes {@code tensors} (F32, F16 or BF16) with values from {@code values}, {@value #CHUNK} at a time, encoded as
     * {@link RawTensor#of} encodes them; the file appears (atomically) only once complete.
     */
    public static void stream(Path file, List<Spec> tensors, Map<String, String> metadata, Values values) throws IOException {
        for (Spec t : tensors)
            if (t.dtype != DType.F32 && t.dtype != DType.F16 && t.dtype != DType.BF16)
                throw new IllegalArgumentException(t.name + ": cannot encode as " + t.dtype);
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(file, raw -> {
            raw.write(header);
            WritableByteChannel ch = Channels.newChannel(raw);
            float[] chunk = new float[CHUNK];
            ByteBuffer bytes = ByteBuffer.allocateDirect(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (Spec t : tensors) {
                long n = t.numel();
                for (long s = 0; s < n; s += CHUNK) {
                    int len = (int) Math.min(CHUNK, n - s);
                    float[] v = len == CHUNK ? chunk : new float[len];
                    values.fill(t, s, v);
                    bytes.clear();
                    for (float x : v) RawTensor.put(bytes, x, t.dtype);
                    bytes.flip();
                    while (bytes.hasRemaining()) ch.write(bytes);
                }
            }
        });
    }

    /** The length prefix, the JSON header (offsets in the given order) and its padding to 8 bytes. */
    private static byte[] header(List<Spec> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) metadata.forEach(header.putObject("__metadata__")::put);
        long offset = 0;
        for (Spec t : tensors) {
            ObjectNode e = header.putObject(t.name);
            e.put("dtype", t.dtype.name());
            var shape = e.putArray("shape");
            for (long d : t.shape) shape.add(d);
            e.putArray("data_offsets").add(offset).add(offset + t.bytes());
            offset += t.bytes();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(json);
        out.put(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
        return out.array();
    }
}
