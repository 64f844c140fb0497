package dev.ffwd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ffwd.FfwdException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real llama.cpp, as node-llama-cpp ships it prebuilt for Linux x64 CPUs: installed once into a folder with
 * {@code npm install} from the registry (no download from GitHub and no build: NODE_LLAMA_CPP_SKIP_DOWNLOAD and
 * --ignore-scripts), then reused; and a {@link Decoder} that times greedy decoding in it. The GGUF tests drive the
 * same install.
 */
public final class LlamaCppRunner {

    public static final String VERSION = "3.22.1";
    private static final List<String> PACKAGES = List.of("node-llama-cpp@" + VERSION, "@node-llama-cpp/linux-x64@" + VERSION);
    private static final String SCRIPT = "llamacpp-decode.mjs";
    private static final ObjectMapper JSON = new ObjectMapper();

    private LlamaCppRunner() {}

    /** Where the CLI installs node-llama-cpp: $FFWD_HOME/node-llama-cpp. */
    public static Path defaultHome() {
        return dev.ffwd.io.BuiltinModel.home().resolve("node-llama-cpp");
    }

    /** Why llama.cpp cannot run on this machine (no prebuilt binary for the platform, no node, no npm), or null when it can. */
    public static String missing() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT), arch = System.getProperty("os.arch");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64")))
            return "no prebuilt llama.cpp for " + os + "/" + arch + " in @node-llama-cpp/linux-x64";
        return !runs("node", "--version") ? "node not found" : !runs("npm", "--version") ? "npm not found" : null;
    }

    /** The node_modules folder holding node-llama-cpp under {@code home}, installed on first use; one line when it cannot be. */
    public static synchronized Path install(Path home) {
        String missing = missing();
        if (missing != null)
            throw new FfwdException("llama.cpp: " + missing + "; node-llama-cpp " + VERSION + " runs it (install Node.js and npm, e.g. apt-get install nodejs npm)");
        Path modules = npmInstall(home, PACKAGES);
        if (!Files.isDirectory(modules.resolve("@node-llama-cpp/linux-x64")))
            throw new FfwdException("llama.cpp: npm install left no @node-llama-cpp/linux-x64 in " + modules);
        return modules;
    }

    /**
     * {@code packages} installed into {@code home}/node_modules unless a marker says the same list already is: npm
     * install (not ci, which refuses npm 11's lock file), without install scripts, optional packages or downloads.
     * A failure is one line: npm's first error line, and the registry named as the likely cause.
     */
    public static Path npmInstall(Path home, List<String> packages) {
        Path modules = home.resolve("node_modules");
        Path marker = home.resolve("installed.txt");  // written last: a half-finished install is redone
        String list = String.join("\n", packages) + "\n";
        try {
            if (Files.isRegularFile(marker) && Files.readString(marker).equals(list)) return modules;
            Files.createDirectories(home);
            try (Stream<Path> s = Files.list(home)) {
                for (Path p : s.toList()) deleteTree(p);
            }
            Files.writeString(home.resolve("package.json"), "{\"name\": \"ffwd-" + home.getFileName() + "\", \"private\": true}\n");
            List<String> command = new ArrayList<>(List.of("npm", "install", "--omit=optional", "--ignore-scripts", "--save-exact", "--no-audit", "--no-fund"));
            command.addAll(packages);
            ProcessBuilder pb = new ProcessBuilder(command).directory(home.toFile());
            pb.environment().put("NODE_LLAMA_CPP_SKIP_DOWNLOAD", "true");  // node-llama-cpp never fetches or builds llama.cpp
            String what = "npm install " + String.join(" ", packages);
            Output out = run(pb, home, 600);
            if (out.exit != 0) {
                String why = out.text.lines().filter(l -> l.startsWith("npm error") || l.startsWith("npm ERR!")).findFirst().orElse(lastLine(out.text));
                throw new FfwdException(what + " failed (exit " + out.exit + "; is the npm registry reachable?): " + why);
            }
            Files.writeString(marker, list);
        } catch (IOException e) {
            throw new FfwdException("cannot install " + packages + " into " + home + ": " + e.getMessage());
        }
        return modules;
    }

    /** Runs a process to completion; its output (stdout and stderr together), or a FfwdException with the output's tail. */
    public static String run(ProcessBuilder pb, Path logDir, int timeoutSeconds, String what) throws IOException {
        Output out = run(pb, logDir, timeoutSeconds);
        if (out.exit != 0) throw new FfwdException(what + " failed (exit " + out.exit + "):\n" + tail(out.text));
        return out.text;
    }

    private record Output(int exit, String text) {}

    private static Output run(ProcessBuilder pb, Path logDir, int timeoutSeconds) throws IOException {
        Path log = Files.createTempFile(logDir, "process", ".log");
        try {
            Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new FfwdException(String.join(" ", pb.command()) + " did not finish in " + timeoutSeconds + " s:\n" + tail(Files.readString(log)));
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new FfwdException(String.join(" ", pb.command()) + ": interrupted");
            }
            return new Output(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** One greedy decoding in llama.cpp: the prompt's evaluation (giving the first token), the rest, and the tokens. */
    public record Run(double promptSeconds, double decodeSeconds, long[] tokens, double[] firstLogprobs) {
        public Run {
            if (!(promptSeconds > 0) || !(decodeSeconds >= 0)) throw new IllegalArgumentException("llama.cpp timings " + promptSeconds + ", " + decodeSeconds);
            tokens = tokens.clone();
            firstLogprobs = firstLogprobs == null ? null : firstLogprobs.clone();
        }

        public double seconds() {
            return promptSeconds + decodeSeconds;
        }
    }

    /**
     * A GGUF model loaded once in a node process running {@value #SCRIPT}, which then decodes on request; loading is
     * never timed. Its log (llama.cpp's messages on stderr) goes to a temporary file, quoted when it fails.
     */
    public static final class Decoder implements AutoCloseable {
        private final Process process;
        private final Writer in;
        private final BufferedReader out;
        private final Path script, log;

        /**
         * Loads {@code gguf} with {@code threads} threads, a KV cache of {@code kvType} ("F32" or "F16") for up to
         * {@code contextSize} tokens, using node-llama-cpp in {@code modules} (from {@link #install}).
         */
        public Decoder(Path modules, Path gguf, int threads, String kvType, int contextSize) throws IOException {
            if (threads < 1 || contextSize < 2) throw new IllegalArgumentException("threads " + threads + ", context " + contextSize);
            if (!kvType.equals("F32") && !kvType.equals("F16")) throw new IllegalArgumentException("KV cache type " + kvType);
            Path dir = modules.getParent();
            script = Files.createTempFile(dir, "decode", ".mjs");  // one per run: concurrent benches never share it
            log = Files.createTempFile(dir, "decode", ".log");
            try (InputStream s = LlamaCppRunner.class.getResourceAsStream(SCRIPT)) {
                if (s == null) throw new IllegalStateException(SCRIPT + " missing from the class path");
                Files.write(script, s.readAllBytes());
            }
            ProcessBuilder pb = new ProcessBuilder("node", script.toString(), modules.toString(), gguf.toAbsolutePath().toString(),
                    Integer.toString(threads), kvType, Integer.toString(contextSize)).redirectError(log.toFile());
            dev.ffwd.EngineEnv.forReference(pb.environment());
            process = pb.start();
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            try {
                if (!reply("loading " + gguf).path("ready").asBoolean()) throw failure("loading " + gguf);
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Greedy decoding of {@code newTokens} tokens after {@code prompt}, from an empty cache. */
        public Run decode(long[] prompt, int newTokens) throws IOException {
            return request(prompt, newTokens, false);
        }

        /** As {@link #decode}, and the log-probs of the first generated position too (untimed use: they cost a pass over the vocabulary). */
        public Run check(long[] prompt, int newTokens) throws IOException {
            return request(prompt, newTokens, true);
        }

        private Run request(long[] prompt, int newTokens, boolean check) throws IOException {
            if (prompt.length == 0 || newTokens < 1) throw new IllegalArgumentException("prompt " + prompt.length + ", new tokens " + newTokens);
            ObjectNode r = JSON.createObjectNode().put("new", newTokens).put("check", check);
            for (long t : prompt) r.withArray("prompt").add(t);
            in.write(JSON.writeValueAsString(r) + "\n");
            in.flush();
            JsonNode a = reply("decoding");
            long[] tokens = new long[a.path("tokens").size()];
            for (int i = 0; i < tokens.length; i++) tokens[i] = a.get("tokens").get(i).asLong();
            double[] lp = null;
            if (check) {
                lp = new double[a.path("logprobs").size()];
                for (int i = 0; i < lp.length; i++) lp[i] = a.get("logprobs").get(i).asDouble();
            }
            return new Run(a.path("prompt_s").asDouble(), a.path("decode_s").asDouble(), tokens, lp);
        }

        /** The next JSON line on node's stdout (node-llama-cpp may print other lines). */
        private JsonNode reply(String what) throws IOException {
            for (String line; (line = out.readLine()) != null; )
                if (line.startsWith("{")) return JSON.readTree(line);
            throw failure(what);
        }

        private FfwdException failure(String what) throws IOException {
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new FfwdException("llama.cpp (node-llama-cpp " + VERSION + ") failed " + what + ":\n" + tail(Files.readString(log)));
        }

        @Override
        public void close() throws IOException {
            try {
                in.close();  // end of input: the script disposes of the model and exits
                if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            } finally {
                Files.deleteIfExists(script);
                Files.deleteIfExists(log);
            }
        }
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String lastLine(String s) {
        return s.lines().filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse("no output");
    }

    private static String tail(String s) {
        return s.length() <= 4000 ? s : "…" + s.substring(s.length() - 4000);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
