package org.flexllm.examples.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A temporary folder for what a benchmark's finetuning job writes (its adapter and checkpoints), deleted with
 * everything in it on close.
 *
 * @param path the folder
 */
public record ScratchFolder(Path path) implements AutoCloseable {
    /** A new empty folder in the system's temporary folder, its name starting with {@code prefix}. */
    public static ScratchFolder create(String prefix) {
        try {
            return new ScratchFolder(Files.createTempDirectory(prefix));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary folder for the job's output", e);
        }
    }

    @Override
    public void close() {
        try (Stream<Path> files = Files.walk(path)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the job's temporary output " + path, e);
        }
    }
}
