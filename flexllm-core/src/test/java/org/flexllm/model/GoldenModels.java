package org.flexllm.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The model folders under shared/ (read in place, never copied into the repository). */
final class GoldenModels {
    static final Path SHARED = Path.of(System.getProperty("flexllm.shared", "../shared"));
    static final Path GOLDEN = SHARED.resolve("golden/models");
    static final Path STORIES = SHARED.resolve("models/stories260K");

    private GoldenModels() {}

    /** The F32 folder of one golden case, e.g. {@code llama-gqa}. */
    static Path golden(String name) {
        return GOLDEN.resolve(name);
    }

    /** Every golden case folder and its {@code bf16/} twin. */
    static Stream<Path> goldenFolders() {
        try (Stream<Path> cases = Files.list(GOLDEN)) {
            return cases.filter(folder -> Files.isRegularFile(folder.resolve("config.json")))
                    .sorted()
                    .flatMap(folder -> Stream.of(folder, folder.resolve("bf16")))
                    .toList()
                    .stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
