package dev.ffwd.data;

import java.util.List;

/**
 * One JSONL line as text segments: each segment is either context (no loss) or target (loss on its tokens).
 * Classification records have a single context segment and a label. A {@code rendered} record is a conversation in
 * the model's own chat template, which already holds the model's special tokens: it is tokenized as one text, adding
 * none, as transformers tokenizes a rendered chat.
 */
public record Record(int line, List<Segment> segments, String label, boolean rendered) {

    public Record(int line, List<Segment> segments, String label) {
        this(line, segments, label, false);
    }

    public record Segment(String text, boolean target) {}
}
