package org.flexllm.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The iteration trace as a file: one JSON object per line, an {@link IterationRecord} each. */
final class IterationTrace implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    IterationTrace(Path file) {
        this.file = file;
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            this.out = Files.newBufferedWriter(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the iteration trace to " + file, e);
        }
    }

    void write(IterationRecord record) {
        try {
            out.write(JSON.writeValueAsString(record));
            out.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the iteration trace to " + file, e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish the iteration trace " + file, e);
        }
    }
}
