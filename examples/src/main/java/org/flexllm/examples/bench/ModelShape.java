package org.flexllm.examples.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.LoadedModel;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.model.SyntheticModel;

/**
 * What a workload must know of a model before an engine loads it: its vocabulary (for random prompts) and the
 * longest sequence an engine with default settings accepts (requests are cut to fit).
 */
public record ModelShape(int vocabSize, int maxModelLen) {
    /** An engine's default sequence limit, which the model's context may lower. */
    private static final int DEFAULT_MAX_MODEL_LEN = 8192;

    /** The vocabulary of a model folder or {@code synthetic:NAME}. */
    public static int vocabSize(String model) {
        return of(model).vocabSize();
    }

    /**
     * The shape of {@code synthetic:NAME[:DTYPE]} or a Hugging Face folder from its config alone; of a GGUF model
     * from its metadata (the file is mapped, not read).
     */
    static ModelShape of(String model) {
        ModelConfig c = config(model);
        return new ModelShape(c.vocabSize(), Math.min(DEFAULT_MAX_MODEL_LEN, c.maxPositionEmbeddings()));
    }

    private static ModelConfig config(String model) {
        if (model.startsWith(EngineBuilder.SYNTHETIC)) {
            String name = model.substring(EngineBuilder.SYNTHETIC.length());
            return SyntheticModel.config(name.contains(":") ? name.substring(0, name.indexOf(':')) : name);
        }
        Path configJson = Path.of(model).resolve("config.json");
        if (Files.isRegularFile(configJson)) {
            return ModelConfigs.read(configJson);
        }
        try (LoadedModel loaded = LoadedModel.open(model)) {
            return loaded.config();
        }
    }
}
