package org.flexllm.api;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.GgufCheckpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.model.SyntheticModel;
import org.flexllm.tensor.DType;
import org.flexllm.tokenizer.GgufTokenizerJson;
import org.flexllm.tokenizer.Tokenizer;

/**
 * A model opened for serving or finetuning: config, weights (memory-mapped, or synthetic in memory) and
 * tokenizer; closing it unmaps the weights.
 *
 * @param resources what holds the weights
 */
public record LoadedModel(ModelConfig config, ModelWeights weights, Tokenizer tokenizer, AutoCloseable resources)
        implements AutoCloseable {

    /** Prefix of the in-memory random models: {@code synthetic:llama-1b}. */
    public static final String SYNTHETIC = "synthetic:";
    private static final long SYNTHETIC_WEIGHT_SEED = 0;

    /**
     * Opens an HF model folder, a GGUF file ({@code .gguf}, or a folder holding one and no {@code config.json};
     * its tokenizer comes from its metadata), or {@code synthetic:NAME} (random weights of a known shape, bf16 or
     * {@code synthetic:NAME:DTYPE}, byte-level tokenizer). A folder without {@code tokenizer.json} gets the
     * byte-level tokenizer.
     */
    public static LoadedModel open(String model) {
        if (model.startsWith(SYNTHETIC)) {
            String[] nameAndType = model.substring(SYNTHETIC.length()).split(":", 2);
            DType dtype = nameAndType.length == 2 ? DType.parse(nameAndType[1]) : DType.BF16;
            SyntheticModel m = SyntheticModel.create(nameAndType[0], SYNTHETIC_WEIGHT_SEED, dtype);
            return new LoadedModel(m.config(), m.weights(), Tokenizer.bytes(m.config().vocabSize()), m);
        }
        Path folder = Path.of(model);
        Optional<Path> gguf = GgufCheckpoint.locate(folder);
        if (gguf.isPresent()) {
            return gguf(gguf.get());
        }
        Checkpoint checkpoint = Checkpoint.load(folder);
        Tokenizer tokenizer = Files.exists(folder.resolve("tokenizer.json"))
                ? Tokenizer.load(folder) : Tokenizer.bytes(checkpoint.config().vocabSize());
        return new LoadedModel(checkpoint.config(), checkpoint.weights(), tokenizer, checkpoint);
    }

    private static LoadedModel gguf(Path file) {
        GgufCheckpoint checkpoint = GgufCheckpoint.load(file);
        try {
            boolean hasTokenizer = checkpoint.file().metadata().find("tokenizer.ggml.model").isPresent()
                    || checkpoint.file().metadata().find(GgufTokenizerJson.HF_JSON).isPresent();
            Tokenizer tokenizer = hasTokenizer ? Tokenizer.fromGguf(checkpoint.file().metadata())
                    : Tokenizer.bytes(checkpoint.config().vocabSize());
            return new LoadedModel(checkpoint.config(), checkpoint.weights(), tokenizer, checkpoint);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the model's weights failed", e);
        }
    }
}
