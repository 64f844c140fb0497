package dev.ffwd.data;

/** JSONL record formats. */
public enum Format {
    /** {"text": ...}: language modelling on every token. */
    TEXT,
    /** {"instruction", "input"?, "output"}: Alpaca template, loss on the response only. */
    INSTRUCTION,
    /** {"messages": [{"role", "content"}]}: chat template, loss on assistant turns only. */
    CHAT,
    /** {"text", "label"}: sequence classification. */
    CLASSIFICATION;

    public static Format parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown format '" + s + "'; use text, instruction, chat or classification");
        }
    }
}
