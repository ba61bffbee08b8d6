package org.flexllm.examples.bench;

import java.nio.file.Path;
import org.flexllm.api.EngineBuilder;
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

    /** The shape of a model folder or {@code synthetic:NAME}, from its config alone. */
    static ModelShape of(String model) {
        ModelConfig c = model.startsWith(EngineBuilder.SYNTHETIC)
                ? SyntheticModel.config(model.substring(EngineBuilder.SYNTHETIC.length()))
                : ModelConfigs.read(Path.of(model).resolve("config.json"));
        return new ModelShape(c.vocabSize(), Math.min(DEFAULT_MAX_MODEL_LEN, c.maxPositionEmbeddings()));
    }
}
