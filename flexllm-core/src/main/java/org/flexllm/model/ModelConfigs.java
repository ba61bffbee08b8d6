package org.flexllm.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.SequencedSet;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Reads a Hugging Face {@code config.json} into a {@link ModelConfig}, applying the defaults Hugging Face
 * applies when a key is absent: {@code num_key_value_heads} = heads, {@code head_dim} = hidden / heads,
 * {@code rope_theta} = 10000, no rope scaling, untied embeddings, no biases except Qwen2's q/k/v.
 */
public final class ModelConfigs {
    private static final double DEFAULT_ROPE_THETA = 10_000;

    private ModelConfigs() {}

    /** Reads {@code config.json} alone. */
    public static ModelConfig read(Path configJson) {
        return read(configJson, GenerationDefaults.NONE);
    }

    /**
     * Reads {@code config.json} and merges the end-of-sequence ids of its folder's
     * {@code generation_config.json}: config.json's ids first, then the others, each once.
     *
     * @throws UnsupportedArchitectureException when the model is not LLaMA, Qwen2 or Mistral
     * @throws InvalidConfigException           naming the file and field when one is missing or malformed
     */
    public static ModelConfig read(Path configJson, GenerationDefaults generation) {
        ConfigFile json = ConfigFile.read(configJson);
        Architecture architecture = architecture(json);
        int hiddenSize = json.requiredInt("hidden_size", 1);
        int numHeads = json.requiredInt("num_attention_heads", 1);
        // HF Llama's attention_bias puts a bias on o_proj too; Qwen2 always has q/k/v biases and never o's.
        boolean llamaAttentionBias = architecture == Architecture.LLAMA
                && json.optionalBoolean("attention_bias").orElse(false);
        // transformers 5 moved rope_theta and the scaling into one rope_parameters object.
        Optional<ConfigFile> ropeParameters = json.object("rope_parameters");
        try {
            return new ModelConfig(
                    architecture,
                    hiddenSize,
                    json.requiredInt("intermediate_size", 1),
                    json.requiredInt("num_hidden_layers", 1),
                    numHeads,
                    json.optionalInt("num_key_value_heads", 1).orElse(numHeads),
                    json.optionalInt("head_dim", 1).orElseGet(() -> defaultHeadDim(json, hiddenSize, numHeads)),
                    json.requiredInt("vocab_size", 1),
                    (float) json.requiredDouble("rms_norm_eps"),
                    ropeParameters.orElse(json).optionalDouble("rope_theta").orElse(DEFAULT_ROPE_THETA),
                    ropeParameters.or(() -> json.object("rope_scaling"))
                            .map(ModelConfigs::ropeScaling)
                            .orElse(RopeScaling.NONE),
                    json.requiredInt("max_position_embeddings", 1),
                    json.optionalBoolean("tie_word_embeddings").orElse(false),
                    architecture == Architecture.QWEN2 || llamaAttentionBias,
                    llamaAttentionBias,
                    architecture == Architecture.LLAMA && json.optionalBoolean("mlp_bias").orElse(false),
                    json.optionalInt("bos_token_id", 0).orElse(-1),
                    union(json.idList("eos_token_id"), generation.eosTokenIds()));
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigException(configJson, e.getMessage(), e);
        }
    }

    /** The HF model class a {@code config.json} lists under {@code architectures}. */
    private static String hfClass(Architecture architecture) {
        return switch (architecture) {
            case LLAMA -> "LlamaForCausalLM";
            case QWEN2 -> "Qwen2ForCausalLM";
            case MISTRAL -> "MistralForCausalLM";
        };
    }

    /** The HF {@code model_type}. */
    private static String modelType(Architecture architecture) {
        return switch (architecture) {
            case LLAMA -> "llama";
            case QWEN2 -> "qwen2";
            case MISTRAL -> "mistral";
        };
    }

    /** Both names must agree where both are given, and every listed class must be one we run. */
    private static Architecture architecture(ConfigFile json) {
        Optional<String> modelType = json.optionalString("model_type");
        List<String> classes = json.stringList("architectures");
        if (modelType.isEmpty() && classes.isEmpty()) {
            throw json.missing("model_type");
        }
        List<Architecture> found = Stream.concat(
                        modelType.map(t -> lookup(json, t, ModelConfigs::modelType)).stream(),
                        classes.stream().map(c -> lookup(json, c, ModelConfigs::hfClass)))
                .distinct()
                .toList();
        if (found.size() > 1) {
            throw json.error("model_type", "'" + modelType.orElse("") + "' and 'architectures' " + classes
                    + " name different model families");
        }
        return found.getFirst();
    }

    private static Architecture lookup(ConfigFile json, String name,
                                       Function<Architecture, String> naming) {
        return Arrays.stream(Architecture.values())
                .filter(a -> naming.apply(a).equals(name))
                .findFirst()
                .orElseThrow(() -> new UnsupportedArchitectureException(json.file(), name,
                        Arrays.stream(Architecture.values())
                                .map(a -> hfClass(a) + " (model_type " + modelType(a) + ")")
                                .toList()));
    }

    private static int defaultHeadDim(ConfigFile json, int hiddenSize, int numHeads) {
        if (hiddenSize % numHeads != 0) {
            throw json.error("head_dim", "is missing and hidden_size " + hiddenSize
                    + " is not a multiple of num_attention_heads " + numHeads);
        }
        return hiddenSize / numHeads;
    }

    private static RopeScaling ropeScaling(ConfigFile rope) {
        String type = rope.optionalString("rope_type")
                .or(() -> rope.optionalString("type"))
                .orElseThrow(() -> rope.missing("rope_type"));
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> RopeScaling.linear(rope.requiredDouble("factor"));
            case "llama3" -> RopeScaling.llama3(
                    rope.requiredDouble("factor"),
                    rope.requiredDouble("low_freq_factor"),
                    rope.requiredDouble("high_freq_factor"),
                    rope.requiredInt("original_max_position_embeddings", 1));
            default -> throw rope.error("rope_type", "is '" + type
                    + "', which is not supported (supported: default, linear, llama3)");
        };
    }

    private static List<Integer> union(List<Integer> first, List<Integer> second) {
        SequencedSet<Integer> ids = new LinkedHashSet<>(first);
        ids.addAll(second);
        return List.copyOf(ids);
    }
}
