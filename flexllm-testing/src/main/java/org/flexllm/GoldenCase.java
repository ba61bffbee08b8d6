package org.flexllm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * One loadable golden model folder: a case's f32 folder or its {@code bf16/} twin, which share the case's
 * {@code reference/} inputs but each have their own expected outputs.
 */
public record GoldenCase(Path folder, Path caseDir, boolean bf16, JsonNode inputs) {

    /** Every golden model folder, f32 and bf16. */
    public static Stream<GoldenCase> all() {
        return Shared.goldenModelFolders().stream().map(GoldenCase::of);
    }

    public static GoldenCase of(Path folder) {
        boolean bf16 = folder.getFileName().toString().equals("bf16");
        Path caseDir = bf16 ? folder.getParent() : folder;
        try {
            return new GoldenCase(folder, caseDir, bf16,
                    new ObjectMapper().readTree(caseDir.resolve("reference/inputs.json").toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The expected-output key for this folder's weights: {@code name} or {@code name_bf16}. */
    public String key(String name) {
        return bf16 ? name + "_bf16" : name;
    }

    /** A JSON array of token ids. */
    public static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    @Override
    public String toString() {
        return Shared.root().relativize(folder).toString();
    }
}
