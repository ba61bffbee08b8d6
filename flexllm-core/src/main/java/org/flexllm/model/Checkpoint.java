package org.flexllm.model;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face LLaMA-family model folder, loaded: its config and its weights, memory-mapped and bound to
 * the config's shapes. Weights keep their stored dtype (F32, F16 or BF16, mixed freely) and are never copied
 * onto the heap; they stay valid until {@link #close()} unmaps them.
 *
 * <p>The folder holds {@code config.json}, optionally {@code generation_config.json}, and either
 * {@code model.safetensors.index.json} with the shards it names, or {@code model.safetensors}.
 */
public final class Checkpoint extends MappedModel {
    /** The model config file of a folder. */
    public static final String CONFIG_FILE = "config.json";
    /** The optional generation settings file of a folder. */
    public static final String GENERATION_CONFIG_FILE = "generation_config.json";

    private final Path folder;
    private final GenerationDefaults generationDefaults;

    private Checkpoint(Path folder, ModelConfig config, GenerationDefaults generationDefaults,
                       ModelWeights weights, long weightBytes, Arena arena) {
        super(config, weights, weightBytes, arena);
        this.folder = folder;
        this.generationDefaults = generationDefaults;
    }

    /**
     * Loads the model folder {@code folder}.
     *
     * @throws InvalidCheckpointException when config.json or the weight files are missing; its subclasses
     *                                    {@link MissingTensorException} and {@link TensorShapeException} when
     *                                    the weights do not match the config
     * @throws InvalidConfigException     when a config file is malformed or names an unsupported architecture
     * @throws org.flexllm.io.InvalidSafetensorsException when a weight file is malformed
     */
    public static Checkpoint load(Path folder) {
        Path configJson = folder.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(configJson)) {
            throw new InvalidCheckpointException("no " + CONFIG_FILE + " in " + folder
                    + "; expected a Hugging Face model folder");
        }
        Path generationJson = folder.resolve(GENERATION_CONFIG_FILE);
        GenerationDefaults generation = Files.isRegularFile(generationJson)
                ? GenerationDefaults.read(generationJson)
                : GenerationDefaults.NONE;
        ModelConfig config = ModelConfigs.read(configJson, generation);

        // Shared: the engine thread reads weights that the loading thread mapped.
        Arena arena = Arena.ofShared();
        try {
            WeightBinder binder = new WeightBinder(config, CheckpointTensors.open(folder, arena));
            ModelWeights weights = binder.bind();
            return new Checkpoint(folder, config, generation, weights, binder.boundBytes(), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path folder() {
        return folder;
    }

    /** The folder's {@code generation_config.json}, or {@link GenerationDefaults#NONE} without one. */
    public GenerationDefaults generationDefaults() {
        return generationDefaults;
    }
}
