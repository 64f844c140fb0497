package dev.ffwd.io;

import dev.ffwd.FfwdException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Short SHA-256 digests (16 hex digits) that identify what a checkpoint or an adapter was made from: a data file by its
 * bytes, a model folder by its config.json and the header of each safetensors file (every tensor's name, dtype, shape
 * and offsets), which distinguishes models without reading gigabytes of weights.
 */
public final class Digests {

    private static final int HEX_DIGITS = 16;

    private Digests() {}

    /** The digest of a file's bytes, read in a stream. */
    public static String file(Path f) {
        MessageDigest md = sha256();
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        } catch (IOException e) {
            throw new FfwdException(f + ": cannot read: " + e.getMessage());
        }
        return hex(md);
    }

    /** A model folder's identity: config.json's bytes, then each *.safetensors file's name and header, in name order. */
    public static String model(Path dir) {
        MessageDigest md = sha256();
        try {
            md.update(Files.readAllBytes(dir.resolve("config.json")));
            List<Path> weights;
            try (Stream<Path> s = Files.list(dir)) {
                weights = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path w : weights) {
                md.update(w.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update(safetensorsHeader(w));
            }
        } catch (IOException e) {
            throw new FfwdException(dir + ": cannot read the model's config or weight headers: " + e.getMessage());
        }
        return hex(md);
    }

    /** The 8-byte little-endian header length and the JSON header it counts. */
    private static byte[] safetensorsHeader(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining()) if (ch.read(len) < 0) throw new IOException(f + ": shorter than a safetensors header");
            long n = len.flip().getLong(0);
            if (n < 0 || n > ch.size() - 8 || n > Integer.MAX_VALUE - 8) throw new IOException(f + ": safetensors header length " + n + " exceeds the file");
            ByteBuffer header = ByteBuffer.allocate(8 + (int) n);
            header.put(len.rewind());
            while (header.hasRemaining()) if (ch.read(header) < 0) break;
            return header.array();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static String hex(MessageDigest md) {
        return HexFormat.of().formatHex(md.digest()).substring(0, HEX_DIGITS);
    }
}
