package org.flexllm.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds a test's shared library from sources under {@code src/test} into {@code target/} with a compiler on the
 * PATH (gcc, nvcc), skipping the test where there is none, and rebuilding only when a source is newer.
 */
final class NativeBuild {
    /** Far beyond what gcc or nvcc need for one small file, even on two loaded cores. */
    private static final long DEADLINE_S = 300;

    private NativeBuild() {}

    /**
     * {@code output}, built by {@code command} (the compiler first, then its arguments) unless it is newer than every
     * one of {@code sources}; skips the calling test when the compiler is not on the PATH.
     */
    static Path build(Path output, List<Path> sources, List<String> command) {
        String compiler = command.getFirst();
        assumeTrue(onPath(compiler), "no " + compiler + " on the PATH: cannot build " + output.getFileName());
        try {
            if (!upToDate(output, sources)) {
                Files.createDirectories(output.getParent());
                run(command);
            }
            return output.toAbsolutePath();
        } catch (IOException e) {
            throw new UncheckedIOException("building " + output, e);
        }
    }

    static boolean onPath(String tool) {
        for (String folder : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!folder.isEmpty() && Files.isExecutable(Path.of(folder, tool))) {
                return true;
            }
        }
        return false;
    }

    private static boolean upToDate(Path output, List<Path> sources) throws IOException {
        if (!Files.exists(output)) {
            return false;
        }
        var built = Files.getLastModifiedTime(output);
        for (Path source : sources) {
            if (Files.getLastModifiedTime(source).compareTo(built) > 0) {
                return false;
            }
        }
        return true;
    }

    /** Runs {@code command} (a tool built here, or a compiler) with a deadline; its output, stderr included. */
    static String run(List<String> command) throws IOException {
        Path log = Files.createTempFile("native-build", ".log");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(DEADLINE_S, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                throw new AssertionError(command.getFirst() + " ran past " + DEADLINE_S + " s: " + command);
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError(command + " failed (" + p.exitValue() + "):\n" + output);
            }
            return output;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
