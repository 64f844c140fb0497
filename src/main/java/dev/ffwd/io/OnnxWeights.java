package dev.ffwd.io;

import dev.ffwd.FfwdException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the fp32 initializers of an ONNX BERT export under Hugging Face names. Weights the exporter left
 * anonymous ("onnx::MatMul_123", stored [in, out]) are named after the MatMul node that consumes them
 * ("/encoder/layer.0/attention/self/query/MatMul" → "encoder.layer.0.attention.self.query.weight") and
 * transposed to PyTorch's [out, in]. A minimal protobuf wire-format reader; no protobuf dependency.
 */
public final class OnnxWeights {

    private OnnxWeights() {}

    public static Map<String, RawTensor> readHfWeights(ByteBuffer model, String source) {
        try {
            Map<String, RawTensor> init = new LinkedHashMap<>();
            Map<String, String> matmulOf = new HashMap<>();  // initializer name -> consuming MatMul node name
            Wire m = new Wire(model.duplicate().order(ByteOrder.LITTLE_ENDIAN), source);
            boolean sawGraph = false;
            while (m.more()) {
                int tag = m.tag();
                if (tag >>> 3 == 7 && (tag & 7) == 2) {
                    sawGraph = true;
                    Wire g = m.sub();
                    while (g.more()) {
                        int gt = g.tag();
                        if (gt >>> 3 == 1 && (gt & 7) == 2) node(g.sub(), matmulOf);
                        else if (gt >>> 3 == 5 && (gt & 7) == 2) {
                            RawTensor t = tensor(g.sub(), source);
                            if (t != null) init.put(t.name(), t);
                        } else g.skip(gt);
                    }
                } else m.skip(tag);
            }
            if (!sawGraph || init.isEmpty()) throw new FfwdException(source + ": no ONNX graph with initializers found");
            Map<String, RawTensor> out = new LinkedHashMap<>();
            for (RawTensor t : init.values()) {
                String node = matmulOf.get(t.name());
                if (t.name().startsWith("onnx::") && node != null) {
                    String hf = node.replaceFirst("^/", "").replaceFirst("/MatMul$", "").replace('/', '.') + ".weight";
                    out.put(hf, transpose(hf, t));
                } else {
                    out.put(t.name(), t);
                }
            }
            return out;
        } catch (IndexOutOfBoundsException | java.nio.BufferUnderflowException | IllegalArgumentException e) {
            throw new FfwdException(source + ": truncated or corrupt ONNX file (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static void node(Wire n, Map<String, String> matmulOf) {
        List<String> inputs = new ArrayList<>();
        String name = "", op = "";
        while (n.more()) {
            int t = n.tag();
            switch (t) {
                case (1 << 3) | 2 -> inputs.add(n.string());
                case (3 << 3) | 2 -> name = n.string();
                case (4 << 3) | 2 -> op = n.string();
                default -> n.skip(t);
            }
        }
        if (op.equals("MatMul")) for (String in : inputs) matmulOf.put(in, name);
    }

    /** A FLOAT initializer, or null for other element types. */
    private static RawTensor tensor(Wire w, String source) {
        List<Long> dims = new ArrayList<>();
        int type = 0;
        String name = null;
        ByteBuffer raw = null;
        List<Float> floats = new ArrayList<>();
        while (w.more()) {
            int t = w.tag();
            switch (t) {
                case (1 << 3) | 0 -> dims.add(w.varint());
                case (1 << 3) | 2 -> { Wire p = w.sub(); while (p.more()) dims.add(p.varint()); }
                case (2 << 3) | 0 -> type = (int) w.varint();
                case (4 << 3) | 5 -> floats.add(w.buf.getFloat());
                case (4 << 3) | 2 -> { Wire p = w.sub(); while (p.more()) floats.add(p.buf.getFloat()); }
                case (8 << 3) | 2 -> name = w.string();
                case (9 << 3) | 2 -> raw = w.bytes();
                default -> w.skip(t);
            }
        }
        if (name == null) throw new FfwdException(source + ": an initializer has no name");
        if (type != 1) return null;  // non-float buffers (e.g. int64 position_ids) are not weights
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long numel = 1;
        for (long d : shape) numel *= d;
        if (raw == null) {
            float[] f = new float[floats.size()];
            for (int i = 0; i < f.length; i++) f[i] = floats.get(i);
            raw = RawTensor.ofFloats(name, shape, f).data();
        }
        if (raw.remaining() != numel * 4)
            throw new FfwdException(source + ": initializer '" + name + "' holds " + raw.remaining() + " bytes, shape needs " + numel * 4);
        return new RawTensor(name, DType.F32, shape, raw.order(ByteOrder.LITTLE_ENDIAN));
    }

    /** [in, out] -> [out, in] */
    private static RawTensor transpose(String name, RawTensor t) {
        if (t.shape().length != 2) throw new FfwdException("MatMul weight " + t.name() + " is not 2-D");
        int in = (int) t.shape()[0], out = (int) t.shape()[1];
        float[] src = t.toFloats(), dst = new float[src.length];
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) dst[o * in + i] = src[i * out + o];
        return RawTensor.ofFloats(name, new long[]{out, in}, dst);
    }

    /** A cursor over a protobuf message. */
    private static final class Wire {
        final ByteBuffer buf;
        final String source;

        Wire(ByteBuffer buf, String source) {
            this.buf = buf;
            this.source = source;
        }

        boolean more() { return buf.hasRemaining(); }

        int tag() { return (int) varint(); }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = buf.get();
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) return v;
            }
            throw new FfwdException(source + ": corrupt ONNX file (bad varint)");
        }

        ByteBuffer bytes() {
            long n = varint();
            if (n < 0 || n > buf.remaining()) throw new FfwdException(source + ": truncated or corrupt ONNX file (a field of " + n + " bytes runs past the end)");
            ByteBuffer s = buf.slice().limit((int) n).order(ByteOrder.LITTLE_ENDIAN);
            buf.position(buf.position() + (int) n);
            return s;
        }

        Wire sub() { return new Wire(bytes(), source); }

        String string() { return StandardCharsets.UTF_8.decode(bytes()).toString(); }

        void skip(int tag) {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> buf.position(buf.position() + 8);
                case 2 -> bytes();
                case 5 -> buf.position(buf.position() + 4);
                default -> throw new FfwdException(source + ": corrupt ONNX file (wire type " + (tag & 7) + ")");
            }
        }
    }
}
