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

    /**
     * Tells the store that tensor {@code name} has been copied (converted) and will not be read again, so that a
     * memory-mapped store can unmap its pages now; they would otherwise stay in the process's resident set. A later
     * {@link #get} of it fails as for a missing tensor. Nothing for stores that hold no mapping.
     */
    default void release(String name) {}

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
