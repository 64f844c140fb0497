package dev.ffwd.chat;

/** One turn of a conversation, as chat templates see it: {@code {"role": ..., "content": ...}}. */
public record Message(String role, String content) {

    public Message {
        if (role == null || role.isBlank()) throw new IllegalArgumentException("a message needs a role");
        if (content == null) throw new IllegalArgumentException("a message needs content (an empty string is allowed)");
    }

    public static Message system(String content) {
        return new Message("system", content);
    }

    public static Message user(String content) {
        return new Message("user", content);
    }

    public static Message assistant(String content) {
        return new Message("assistant", content);
    }
}
