package dev.ffwd.io;

import dev.ffwd.FfwdException;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Named tensors from a checkpoint (one file, shards, or memory). */
public interface TensorStore extends AutoCloseable {

    Set<String> names();

    default boolean contains(String name) {
        return names().contains(name);
    }

    /** The tensor, or an error naming the source and the missing tensor. */
    RawTensor get(String name);

    Path source();

    Map<String, String> metadata();

    @Override
    default void close() {}

    static TensorStore of(Path source, Map<String, RawTensor> tensors) {
        Map<String, RawTensor> copy = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        return new TensorStore() {
            public Set<String> names() { return copy.keySet(); }
            public RawTensor get(String name) {
                RawTensor t = copy.get(name);
                if (t == null) throw new FfwdException(source + ": missing tensor '" + name + "'");
                return t;
            }
            public Path source() { return source; }
            public Map<String, String> metadata() { return Map.of(); }
        };
    }
}
