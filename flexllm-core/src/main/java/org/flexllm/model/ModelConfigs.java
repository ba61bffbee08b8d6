package org.flexllm.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

    /**
     * The {@code config.json} text of {@code config}, with {@code torch_dtype} naming how its weights are stored:
     * what {@link #read} reads back to an equal config (the end-of-sequence ids of a folder's
     * {@code generation_config.json} included).
     */
    public static String toJson(ModelConfig config, String torchDtype) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.putArray("architectures").add(hfClass(config.architecture()));
        json.put("model_type", modelType(config.architecture()));
        json.put("hidden_size", config.hiddenSize());
        json.put("intermediate_size", config.intermediateSize());
        json.put("num_hidden_layers", config.numLayers());
        json.put("num_attention_heads", config.numHeads());
        json.put("num_key_value_heads", config.numKvHeads());
        json.put("head_dim", config.headDim());
        json.put("vocab_size", config.vocabSize());
        json.put("rms_norm_eps", config.rmsNormEps());
        json.put("rope_theta", config.ropeTheta());
        json.set("rope_scaling", ropeScalingJson(config.ropeScaling()));
        json.put("max_position_embeddings", config.maxPositionEmbeddings());
        json.put("tie_word_embeddings", config.tieWordEmbeddings());
        if (config.architecture() == Architecture.LLAMA) {
            json.put("attention_bias", config.oBias());
            json.put("mlp_bias", config.mlpBias());
        }
        json.put("hidden_act", "silu");
        if (config.bosTokenId() >= 0) {
            json.put("bos_token_id", config.bosTokenId());
        }
        ArrayNode eos = json.putArray("eos_token_id");
        config.eosTokenIds().forEach(eos::add);
        json.put("torch_dtype", torchDtype);
        return json.toPrettyString();
    }

    private static JsonNode ropeScalingJson(RopeScaling s) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        switch (s.type()) {
            case NONE -> {
                return NullNode.getInstance();
            }
            case LINEAR -> json.put("rope_type", "linear").put("factor", s.factor());
            case LLAMA3 -> json.put("rope_type", "llama3").put("factor", s.factor())
                    .put("low_freq_factor", s.lowFreqFactor()).put("high_freq_factor", s.highFreqFactor())
                    .put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
        }
        return json;
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
