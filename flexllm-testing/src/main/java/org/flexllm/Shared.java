package org.flexllm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Test assets beside the repository (system property {@code flexllm.shared}); never copied into it. */
public final class Shared {
    private Shared() {}

    public static Path root() {
        return Path.of(System.getProperty("flexllm.shared", "../shared")).toAbsolutePath().normalize();
    }

    public static Path resolve(String relative) {
        return root().resolve(relative);
    }

    /** llama2.c's stories260K model, with run.c's outputs in its {@code reference/} folder. */
    public static Path stories260K() {
        return resolve("models/stories260K");
    }

    /** The model folders of the golden cases: each case's f32 folder and its bf16/ folder. */
    public static List<Path> goldenModelFolders() {
        try (Stream<Path> cases = Files.list(resolve("golden/models"))) {
            return cases.filter(Files::isDirectory).sorted()
                    .flatMap(c -> Stream.of(c, c.resolve("bf16"))).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
