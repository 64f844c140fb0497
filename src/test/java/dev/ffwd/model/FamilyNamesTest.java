package dev.ffwd.model;

import dev.ffwd.gguf.GgufFamily;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each family's knowledge lives in its own file: no HF, PEFT or GGUF name that a family declares appears as a name
 * anywhere else in src/main/java. The names come from the declarations themselves ({@link Arch#ALL}): model types,
 * tensor and module paths, default LoRA targets, the classification head, llama.cpp's architecture and tensor names.
 * A name here is a string literal without whitespace (an identifier, key or path); messages and embedded JSON
 * documents (the built-in model's and the benchmark shapes' config.json) are prose and data.
 */
class FamilyNamesTest {

    private static final Path MAIN = Path.of("src/main/java");
    private static final Path MODEL = MAIN.resolve("dev/ffwd/model");

    /**
     * Literals that are a family's name by coincidence, by file: llama.cpp's tokenizer models and pre-tokenizers; a
     * command; the npm packages node-llama-cpp and @node-llama-cpp/linux-x64.
     */
    private static final Map<String, Set<String>> COINCIDENCES = Map.of(
            "dev/ffwd/gguf/GgufVocab.java", Set.of("gpt2", "llama", "qwen2"),
            "dev/ffwd/cli/ScoreCommand.java", Set.of("score"),
            "dev/ffwd/bench/LlamaCppRunner.java", Set.of("llama"));

    @Test
    void noFamilyNameOutsideTheFamilyFiles() throws IOException {
        Set<String> names = familyNames(), familyFiles = familyFiles();
        List<String> leaks = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String rel = MAIN.relativize(f).toString().replace('\\', '/');
                if (familyFiles.contains(rel)) continue;
                for (String name : namesIn(Files.readString(f), names))
                    if (!COINCIDENCES.getOrDefault(rel, Set.of()).contains(name)) leaks.add(rel + ": \"" + name + "\"");
            }
        }
        assertEquals(List.of(), leaks, "family names outside model/<Family>.java");
    }

    /** The scan sees names where they are declared, so an empty result above is not for want of looking. */
    @Test
    void theScanFindsTheDeclarations() throws IOException {
        Set<String> names = familyNames();
        assertTrue(namesIn(Files.readString(MODEL.resolve("RmsDecoder.java")), names).containsAll(List.of("self_attn.q_proj", "attn_q", "lm_head")));
        assertTrue(namesIn(Files.readString(MODEL.resolve("GptNeoX.java")), names).containsAll(List.of("gpt_neox", "gptneox", "attention.query_key_value")));
        assertTrue(namesIn(Files.readString(MODEL.resolve("Bert.java")), names).containsAll(List.of("bert", "classifier", "bert.")));
        assertTrue(familyFiles().containsAll(List.of("dev/ffwd/model/Llama.java", "dev/ffwd/model/RmsDecoder.java")), familyFiles().toString());
    }

    /** Every name a family declares; llama.cpp's token_embd and output, which every family shares, are GgufFamily's. */
    private static Set<String> familyNames() {
        Set<String> names = new TreeSet<>();
        Pattern block = Pattern.compile("(.+)\\.0\\.(.+)");
        for (Arch a : Arch.ALL) {
            names.addAll(a.modelTypes);
            names.addAll(a.defaultTargets());
            names.add(a.classifier.name());
            if (!a.classifier.backbonePrefix().isEmpty()) names.add(a.classifier.backbonePrefix());
            for (Layout.Tensor t : a.layout().tensors()) {
                String module = t.name().substring(0, t.name().lastIndexOf('.'));
                Matcher m = block.matcher(module);
                if (m.matches()) names.addAll(List.of(m.group(1), m.group(2)));
                else names.add(module);
            }
            if (a.gguf != null) {
                names.addAll(List.of(a.gguf.arch(), a.gguf.layers()));
                for (GgufFamily.Module m : Stream.concat(a.gguf.globals().stream(), a.gguf.block().stream()).toList()) {
                    names.add(m.hf());
                    if (m.kind() != GgufFamily.Kind.TOKENS && m.kind() != GgufFamily.Kind.HEAD) names.add(m.gguf());
                }
            }
        }
        return names;
    }

    /** Paths under src/main/java of each class that declares a family's Arch, and of its superclasses below Transformer. */
    private static Set<String> familyFiles() throws IOException {
        Set<String> files = new HashSet<>();
        Set<Arch> found = new HashSet<>();
        try (Stream<Path> s = Files.list(MODEL)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
                String simple = f.getFileName().toString().replace(".java", "");
                Class<?> c;
                try {
                    c = Class.forName("dev.ffwd.model." + simple);
                } catch (ClassNotFoundException e) {
                    throw new AssertionError(e);
                }
                Object arch;
                try {
                    arch = c.getField("ARCH").get(null);
                } catch (NoSuchFieldException | IllegalAccessException e) {
                    continue;
                }
                if (!Arch.ALL.contains(arch)) continue;
                found.add((Arch) arch);
                for (Class<?> k = c; k != Transformer.class; k = k.getSuperclass()) files.add("dev/ffwd/model/" + k.getSimpleName() + ".java");
            }
        }
        assertEquals(new HashSet<>(Arch.ALL), found, "every family is declared in a model/<Family>.java with its ARCH");
        return files;
    }

    /**
     * The family names among {@code source}'s string literals that are names (no whitespace): a literal names one when
     * a run of its dotted segments equals it ("self_attn.q_proj.weight" names "self_attn.q_proj" and "q_proj"), or
     * when it is a prefix ending in "." ("bert.").
     */
    static Set<String> namesIn(String source, Set<String> names) {
        Set<String> hits = new TreeSet<>();
        for (String lit : literals(source)) {
            if (lit.isEmpty() || lit.chars().anyMatch(Character::isWhitespace)) continue;
            if (names.contains(lit)) hits.add(lit);
            for (String token : lit.split("[^A-Za-z0-9_.]+")) {
                String[] seg = token.split("\\.");
                for (int i = 0; i < seg.length; i++)
                    for (int j = i + 1; j <= seg.length; j++) {
                        String run = String.join(".", Arrays.copyOfRange(seg, i, j));
                        if (names.contains(run)) hits.add(run);
                    }
            }
        }
        return hits;
    }

    /** The contents of the string literals and text blocks of Java source {@code s}, comments and char literals skipped. */
    private static List<String> literals(String s) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s.length(); ) {
            if (s.startsWith("//", i)) {
                int end = s.indexOf('\n', i);
                i = end < 0 ? s.length() : end;
            } else if (s.startsWith("/*", i)) {
                i = s.indexOf("*/", i + 2) + 2;
            } else if (s.startsWith("\"\"\"", i)) {
                int end = s.indexOf("\"\"\"", i + 3);
                out.add(s.substring(i + 3, end));
                i = end + 3;
            } else if (s.charAt(i) == '"' || s.charAt(i) == '\'') {
                char quote = s.charAt(i);
                int j = i + 1;
                while (s.charAt(j) != quote) j += s.charAt(j) == '\\' ? 2 : 1;
                if (quote == '"') out.add(s.substring(i + 1, j));
                i = j + 1;
            } else {
                i++;
            }
        }
        return out;
    }
}
