package dev.ffwd.io;

import dev.ffwd.FfwdException;
import dev.ffwd.SharedFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsTest {

    @TempDir Path tmp;

    static List<RawTensor> sample() {
        return List.of(RawTensor.ofFloats("a.weight", new long[]{2, 3}, new float[]{1, 2, 3, 4, 5, 6}),
                RawTensor.ofFloats("b.bias", new long[]{3}, new float[]{-1, 0.5f, 7}),
                RawTensor.ofFloats("scalar", new long[]{}, new float[]{42}));
    }

    Path valid() throws IOException {
        Path f = tmp.resolve("valid.safetensors");
        SafetensorsWriter.write(f, sample(), Map.of("format", "pt"));
        return f;
    }

    /**
     * The streaming writer produces, chunk by chunk, the very bytes the in-memory writer does for the same values, in
     * each storage type; one tensor spans three chunks with a partial last one.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void streamingWritesTheSameBytesAsTheInMemoryWriter(DType dtype) throws IOException {
        long[][] shapes = {{3, 5}, {2 * SafetensorsWriter.CHUNK + 7}, {}};
        Random r = new Random(8);
        List<RawTensor> whole = new java.util.ArrayList<>();
        List<SafetensorsWriter.Spec> specs = new java.util.ArrayList<>();
        Map<String, float[]> values = new java.util.HashMap<>();
        for (int i = 0; i < shapes.length; i++) {
            SafetensorsWriter.Spec spec = new SafetensorsWriter.Spec("t" + i, dtype, shapes[i]);
            float[] v = new float[(int) spec.numel()];
            for (int j = 0; j < v.length; j++) v[j] = (float) (r.nextGaussian() * 3);
            values.put(spec.name(), v);
            specs.add(spec);
            whole.add(RawTensor.of(spec.name(), shapes[i], v, dtype));
        }
        Path a = tmp.resolve("whole.safetensors"), b = tmp.resolve("streamed.safetensors");
        SafetensorsWriter.write(a, whole, Map.of("format", "pt"));
        List<Long> starts = new java.util.ArrayList<>();
        SafetensorsWriter.stream(b, specs, Map.of("format", "pt"), (t, start, out) -> {
            if (t.name().equals("t1")) starts.add(start);
            System.arraycopy(values.get(t.name()), (int) start, out, 0, out.length);
        });
        assertEquals(List.of(0L, (long) SafetensorsWriter.CHUNK, 2L * SafetensorsWriter.CHUNK), starts, "chunks of t1");
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    /** A converted tensor's mapping is released at once: the store forgets it (one clear line), the others stay readable. */
    @Test
    void releasedTensorsAreGoneAndTheRestStayReadable() throws IOException {
        Path f = tmp.resolve("bf16.safetensors");
        SafetensorsWriter.write(f, List.of(RawTensor.of("w", new long[]{2, 2}, new float[]{1, -2, 0.5f, 4}, DType.BF16),
                RawTensor.of("n", new long[]{2}, new float[]{1, 1}, DType.BF16)), Map.of());
        try (TensorStore s = SafetensorsReader.open(f)) {
            float[] copy = s.get("w").toFloats();
            s.release("w");
            assertFalse(s.contains("w"));
            FfwdException e = assertThrows(FfwdException.class, () -> s.get("w"));
            assertTrue(e.getMessage().contains("missing tensor 'w'"), e.getMessage());
            assertArrayEquals(new float[]{1, -2, 0.5f, 4}, copy);
            assertArrayEquals(new float[]{1, 1}, s.get("n").toFloats());
        }
    }

    @Test
    void roundTripsValuesAndMetadata() throws IOException {
        try (TensorStore s = SafetensorsReader.open(valid())) {
            assertEquals(List.of("a.weight", "b.bias", "scalar"), List.copyOf(s.names()));
            for (RawTensor t : sample()) {
                assertArrayEquals(t.toFloats(), s.get(t.name()).toFloats());
                assertArrayEquals(t.shape(), s.get(t.name()).shape());
            }
            assertEquals("pt", s.metadata().get("format"));
            FfwdException e = assertThrows(FfwdException.class, () -> s.get("nope"));
            assertTrue(e.getMessage().contains("missing tensor 'nope'"));
        }
    }

    @Test
    void halfPrecisionConversions() {
        ByteBuffer h = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : new short[]{0x3c00, (short) 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00}) h.putShort(v);
        float[] f = new RawTensor("h", DType.F16, new long[]{6}, h.flip()).toFloats();
        assertEquals(1f, f[0]);
        assertEquals(-2f, f[1]);
        assertEquals(65504f, f[2]);
        assertEquals(0x1p-24f, f[3]);
        assertEquals(Float.POSITIVE_INFINITY, f[4]);
        assertTrue(Float.isNaN(f[5]));
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3fc0).putShort((short) 0xc0a0);
        assertArrayEquals(new float[]{1.5f, -5f}, new RawTensor("b", DType.BF16, new long[]{2}, b.flip()).toFloats());
    }

    @Test
    void bf16FixtureLoads() {
        try (TensorStore s = SafetensorsReader.openModelDir(SharedFixtures.fixture("tiny-llama-bf16"))) {
            RawTensor t = s.get("model.embed_tokens.weight");
            assertEquals(DType.BF16, t.dtype());
            for (float v : t.toFloats()) assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void shardedCheckpointViaIndex() throws IOException {
        List<RawTensor> all = sample();
        SafetensorsWriter.write(tmp.resolve("model-00001-of-00002.safetensors"), all.subList(0, 2), Map.of());
        SafetensorsWriter.write(tmp.resolve("model-00002-of-00002.safetensors"), all.subList(2, 3), Map.of());
        Files.writeString(tmp.resolve("model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": {"
                + "\"a.weight\": \"model-00001-of-00002.safetensors\", \"b.bias\": \"model-00001-of-00002.safetensors\","
                + "\"scalar\": \"model-00002-of-00002.safetensors\"}}");
        try (TensorStore s = SafetensorsReader.openModelDir(tmp)) {
            assertEquals(3, s.names().size());
            assertArrayEquals(new float[]{42}, s.get("scalar").toFloats());
        }
        Files.writeString(tmp.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"zzz\": \"model-00002-of-00002.safetensors\"}}");
        FfwdException e = assertThrows(FfwdException.class, () -> SafetensorsReader.openModelDir(tmp));
        assertTrue(e.getMessage().contains("'zzz'") && e.getMessage().contains("index.json"), e.getMessage());
    }

    /** Rewrites the header JSON of a valid file; the data section is kept. */
    Path withHeader(UnaryOperator<String> edit) throws IOException {
        byte[] b = Files.readAllBytes(valid());
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
        byte[] h = edit.apply(header).getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + b.length - 8 - (int) n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h).put(b, 8 + (int) n, b.length - 8 - (int) n);
        Path f = tmp.resolve("edited.safetensors");
        Files.write(f, out.array());
        return f;
    }

    void assertRejected(Path f, String phrase) {
        FfwdException e = assertThrows(FfwdException.class, () -> SafetensorsReader.open(f).close());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(phrase), "'" + phrase + "' not in: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void generatedCorruptionsAreRejectedWithTheirCause() throws IOException {
        byte[] b = Files.readAllBytes(valid());
        Path f = tmp.resolve("bad.safetensors");
        for (int cut : new int[]{0, 7, 8, 20, b.length - 1}) {
            Files.write(f, Arrays.copyOf(b, cut));
            assertThrows(FfwdException.class, () -> SafetensorsReader.open(f).close(), "truncated at " + cut);
        }
        byte[] huge = b.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Files.write(f, huge);
        assertRejected(f, "exceeds the 100 MB cap");
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, b.length);
        Files.write(f, huge);
        assertRejected(f, "past the end of the file");

        assertRejected(withHeader(h -> h.replace("{", "[")), "not valid JSON");
        assertRejected(withHeader(h -> "[1, 2, 3]" + " ".repeat(Math.max(0, h.length() - 9))), "not a JSON object");
        assertRejected(withHeader(h -> h.replaceFirst("\"F32\"", "\"Q4\"")), "unknown dtype");
        assertRejected(withHeader(h -> h.replace("[2,3]", "[2,-3]")), "invalid dimension");
        assertRejected(withHeader(h -> h.replace("[2,3]", "[2,4]")), "needs 32");
        assertRejected(withHeader(h -> h.replace("[0,24]", "[24,0]")), "not an ordered range");
        assertRejected(withHeader(h -> h.replace("[0,24]", "[0,4000]")), "run past the data section");
        assertRejected(withHeader(h -> h.replace("[24,36]", "[20,32]")), "overlap");
        assertRejected(withHeader(h -> h.replace("\"format\":\"pt\"", "\"format\":7")), "__metadata__");
    }

    /** Random byte flips, truncations and extensions: every outcome is a clean error or a load whose tensors all read. */
    @Test
    void fuzzedFilesFailCleanlyOrLoadCorrectly() throws IOException {
        byte[] orig = Files.readAllBytes(valid());
        Random r = new Random(2024);
        Path f = tmp.resolve("fuzz.safetensors");
        int loaded = 0, rejected = 0;
        for (int i = 0; i < 600; i++) {
            byte[] b = orig.clone();
            switch (r.nextInt(4)) {
                case 0 -> { for (int k = 0, n = 1 + r.nextInt(4); k < n; k++) b[r.nextInt(b.length)] = (byte) r.nextInt(256); }
                case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length));
                case 2 -> b = Arrays.copyOf(b, b.length + 1 + r.nextInt(64));
                default -> ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, r.nextBoolean() ? r.nextLong() : r.nextInt(b.length + 16));
            }
            Files.write(f, b);
            try (TensorStore s = SafetensorsReader.open(f)) {
                for (String n : s.names()) {  // a mutated dtype may be an integer type: then the bytes must still be readable
                    RawTensor t = s.get(n);
                    if (t.dtype().isFloat()) assertEquals(t.numel(), t.toFloats().length);
                    else assertEquals(t.numel() * t.dtype().bytes, t.data().remaining());
                }
                loaded++;
            } catch (FfwdException e) {
                assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
                rejected++;
            }
        }
        assertTrue(loaded > 0 && rejected > 0, loaded + " loaded, " + rejected + " rejected");
    }

    @Test
    void atomicWriteLeavesOldContentOnFailure() throws IOException {
        Path f = tmp.resolve("x.txt");
        AtomicFiles.writeString(f, "old");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write("partial".getBytes());
            throw new IOException("disk full");
        }));
        assertEquals("old", Files.readString(f));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(f), s.toList());
        }
    }
}
