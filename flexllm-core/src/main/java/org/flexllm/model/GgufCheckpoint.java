package org.flexllm.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.flexllm.io.GgufFile;

/**
 * A llama.cpp GGUF model file, loaded: its config from the metadata and its weights bound to the config's shapes
 * under their Hugging Face names. Weights keep their stored dtype (F32, F16, BF16 or a quantized one) and stay
 * views of the mapping, except the llama layout's q/k projections, whose rows are put in HF's rotary order
 * ({@link RotaryRows}). Valid until {@link #close()}.
 */
public final class GgufCheckpoint extends MappedModel {
    /** The extension of GGUF files. */
    public static final String EXTENSION = ".gguf";

    private final GgufFile file;

    private GgufCheckpoint(GgufFile file, ModelConfig config, ModelWeights weights, long weightBytes, Arena arena) {
        super(config, weights, weightBytes, arena);
        this.file = file;
    }

    /**
     * The GGUF file {@code path} stands for: itself when it names a {@code .gguf} file, or the one {@code .gguf}
     * file of a folder without {@code config.json}; empty for anything else (a Hugging Face folder).
     *
     * @throws InvalidCheckpointException when such a folder holds several GGUF files
     */
    public static Optional<Path> locate(Path path) {
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(EXTENSION)) {
            return Optional.of(path);
        }
        if (!Files.isDirectory(path) || Files.exists(path.resolve(Checkpoint.CONFIG_FILE))) {
            return Optional.empty();
        }
        List<Path> found;
        try (Stream<Path> files = Files.list(path)) {
            found = files.filter(f -> f.getFileName().toString().endsWith(EXTENSION)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path, e);
        }
        if (found.size() > 1) {
            throw new InvalidCheckpointException(path + " holds several GGUF files " + found
                    + "; name the one to load");
        }
        return found.stream().findFirst();
    }

    /**
     * Maps and binds {@code path}.
     *
     * @throws org.flexllm.io.InvalidGgufException when the file is malformed (one subclass per kind of problem)
     * @throws InvalidCheckpointException          when its tensors do not match its metadata (missing, wrong
     *                                             shape, a vocabulary of another size than the embeddings)
     */
    public static GgufCheckpoint load(Path path) {
        // Shared: the engine thread reads weights that the loading thread mapped.
        Arena arena = Arena.ofShared();
        try {
            GgufFile file = GgufFile.open(path, arena);
            ModelConfig config = GgufConfigs.read(file);
            boolean llamaLayout = config.architecture() != Architecture.QWEN2;
            WeightBinder binder = new WeightBinder(config, new GgufTensors(file, config, llamaLayout, arena));
            ModelWeights weights = binder.bind();
            return new GgufCheckpoint(file, config, weights, binder.boundBytes(), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The file with its metadata (the tokenizer's among them). */
    public GgufFile file() {
        return file;
    }
}
