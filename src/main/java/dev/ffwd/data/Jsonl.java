package dev.ffwd.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ffwd.FfwdException;
import dev.ffwd.chat.ChatTemplate;
import dev.ffwd.chat.Message;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads a JSONL file in one of the {@link Format}s; every problem is reported with file and line number. */
public final class Jsonl {

    private static final ObjectMapper JSON = new ObjectMapper();

    static final String ALPACA_WITH_INPUT = "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:\n";
    static final String ALPACA = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n### Instruction:\n%s\n\n### Response:\n";

    private Jsonl() {}

    public static List<Record> read(Path file, Format format) {
        return read(file, format, (ChatTemplate) null);
    }

    /**
     * Records for training or evaluating {@code modelDir}: chat records in its own chat_template when it has one
     * (tokenizer_config.json), else in the plain format of {@link #read(Path, Format)}.
     */
    public static List<Record> read(Path file, Format format, Path modelDir) {
        return read(file, format, format == Format.CHAT ? ChatTemplate.find(modelDir).orElse(null) : null);
    }

    /** Chat records rendered by {@code template}; a null template means the plain, model-agnostic chat format. */
    public static List<Record> read(Path file, Format format, ChatTemplate template) {
        if (!Files.isRegularFile(file)) throw new FfwdException(file + ": data file not found");
        List<Record> out = new ArrayList<>();
        try (Lines r = new Lines(file)) {
            for (String line; (line = r.next()) != null; ) {
                int lineNo = r.lineNo;
                if (line.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new FfwdException(file + ":" + lineNo + ": invalid JSON: " + e.getOriginalMessage());
                }
                if (n == null || !n.isObject()) throw new FfwdException(file + ":" + lineNo + ": expected a JSON object");
                out.add(parse(n, format, new Where(file, lineNo), template));
            }
        } catch (IOException e) {
            throw new FfwdException(file + ": cannot read: " + e.getMessage());
        }
        if (out.isEmpty()) throw new FfwdException(file + ": no records (the file is empty)");
        return out;
    }

    /**
     * A file's lines, each decoded strictly as UTF-8 on its own, so that a bad byte is reported at its own line and
     * byte offset (a buffered reader decodes ahead, in blocks, and would blame the line it had reached).
     */
    private static final class Lines implements java.io.Closeable {
        private final Path file;
        private final java.io.InputStream in;
        private long offset;  // bytes consumed
        int lineNo;

        Lines(Path file) throws IOException {
            this.file = file;
            this.in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16);
        }

        /** The next line without its terminator (\n or \r\n), or null at the end. */
        String next() throws IOException {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            long start = offset;
            int b;
            while ((b = in.read()) != -1) {
                offset++;
                if (b == '\n') break;
                buf.write(b);
            }
            if (b == -1 && buf.size() == 0) return null;
            lineNo++;
            byte[] bytes = buf.toByteArray();
            int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(bytes, 0, n);
            java.nio.CharBuffer cb = java.nio.CharBuffer.allocate(n);
            java.nio.charset.CoderResult cr = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT).decode(bb, cb, true);
            if (cr.isError())
                throw new FfwdException(file + ":" + lineNo + ": not valid UTF-8 at byte " + (bb.position() + 1) + " of the line (byte offset "
                        + (start + bb.position()) + " in the file)");
            return cb.flip().toString();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    private record Where(Path file, int line) {
        FfwdException error(String msg) {
            return new FfwdException(file + ":" + line + ": " + msg);
        }

        String text(JsonNode n, String field, boolean required) {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                if (required) throw error("missing field '" + field + "'");
                return "";
            }
            if (!v.isTextual()) throw error("field '" + field + "' must be a string, got " + v.getNodeType().toString().toLowerCase());
            return v.asText();
        }
    }

    private static Record parse(JsonNode n, Format format, Where w, ChatTemplate template) {
        return switch (format) {
            case TEXT -> new Record(w.line, List.of(new Record.Segment(nonEmpty(w, w.text(n, "text", true), "text"), true)), null);
            case CLASSIFICATION -> {
                JsonNode l = n.get("label");
                if (l == null || l.isNull()) throw w.error("missing field 'label'");
                if (!l.isTextual() && !l.isIntegralNumber() && !l.isBoolean())
                    throw w.error("field 'label' must be a string, integer or boolean, got " + l.getNodeType().toString().toLowerCase());
                yield new Record(w.line, List.of(new Record.Segment(nonEmpty(w, w.text(n, "text", true), "text"), false)), l.asText());
            }
            case INSTRUCTION -> {
                String instr = nonEmpty(w, w.text(n, "instruction", true), "instruction"), input = w.text(n, "input", false);
                String prompt = input.isBlank() ? String.format(ALPACA, instr) : String.format(ALPACA_WITH_INPUT, instr, input);
                yield new Record(w.line, List.of(new Record.Segment(prompt, false),
                        new Record.Segment(nonEmpty(w, w.text(n, "output", true), "output"), true)), null);
            }
            case CHAT -> template == null ? new Record(w.line, plainChat(messages(n, w)), null) : rendered(messages(n, w), template, w);
        };
    }

    private static String nonEmpty(Where w, String s, String field) {
        if (s.isBlank()) throw w.error("field '" + field + "' is empty");
        return s;
    }

    /** The {"messages": [{"role", "content"}]} of a chat record, with at least one assistant message to learn from. */
    private static List<Message> messages(JsonNode n, Where w) {
        JsonNode msgs = n.get("messages");
        if (msgs == null) throw w.error("missing field 'messages'");
        if (!msgs.isArray() || msgs.isEmpty()) throw w.error("field 'messages' must be a non-empty array");
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            if (!m.isObject()) throw w.error("messages[" + i + "] must be an object");
            String role = w.text(m, "role", true), content = w.text(m, "content", true);
            if (!List.of("system", "user", "assistant").contains(role))
                throw w.error("messages[" + i + "].role must be system, user or assistant, got '" + role + "'");
            out.add(new Message(role, content));
        }
        if (out.stream().noneMatch(m -> m.role().equals("assistant"))) throw w.error("no assistant message to learn from");
        return out;
    }

    /** A plain, model-agnostic chat format for models without a chat template: "<|role|>\ncontent\n" per turn. */
    private static List<Record.Segment> plainChat(List<Message> msgs) {
        List<Record.Segment> segs = new ArrayList<>();
        for (Message m : msgs) {
            segs.add(new Record.Segment("<|" + m.role() + "|>\n", false));
            segs.add(new Record.Segment(m.content() + "\n", m.role().equals("assistant")));
        }
        return segs;
    }

    /** The conversation in the model's own template; the loss goes on the assistant turns and their end-of-turn tokens. */
    private static Record rendered(List<Message> msgs, ChatTemplate template, Where w) {
        try {
            List<Record.Segment> segs = template.renderParts(msgs).stream().map(p -> new Record.Segment(p.text(), p.assistant())).toList();
            return new Record(w.line, segs, null, true);
        } catch (FfwdException e) {
            throw w.error(e.getMessage());
        }
    }
}
