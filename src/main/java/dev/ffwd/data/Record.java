package dev.ffwd.data;

import java.util.List;

/**
 * One JSONL line as text segments: each segment is either context (no loss) or target (loss on its tokens).
 * Classification records have a single context segment and a label.
 */
public record Record(int line, List<Segment> segments, String label) {

    public record Segment(String text, boolean target) {}
}
