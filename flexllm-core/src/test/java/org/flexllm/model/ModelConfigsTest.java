package org.flexllm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ModelConfigsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** The smallest valid Llama config; tests change one key at a time. */
    private static ObjectNode llama() {
        return JSON.createObjectNode()
                .put("model_type", "llama")
                .put("hidden_size", 64)
                .put("intermediate_size", 160)
                .put("num_hidden_layers", 2)
                .put("num_attention_heads", 4)
                .put("vocab_size", 256)
                .put("rms_norm_eps", 1e-5)
                .put("max_position_embeddings", 2048);
    }

    private Path write(JsonNode config) throws IOException {
        return Files.writeString(dir.resolve("config.json"), config.toString());
    }

    private ModelConfig read(JsonNode config) throws IOException {
        return ModelConfigs.read(write(config));
    }

    private <E extends Exception> E fails(Class<E> type, JsonNode config, String... mentions) throws IOException {
        Path file = write(config);
        E e = assertThrows(type, () -> ModelConfigs.read(file));
        for (String part : Stream.concat(Stream.of(file.toString()), Stream.of(mentions)).toList()) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' does not mention " + part);
        }
        return e;
    }

    static Stream<Path> sharedConfigs() {
        return Stream.concat(GoldenModels.goldenFolders(), Stream.of(GoldenModels.STORIES))
                .map(folder -> folder.resolve("config.json"));
    }

    @ParameterizedTest
    @MethodSource("sharedConfigs")
    void sharedConfigsMatchTheirJson(Path configJson) throws IOException {
        JsonNode raw = JSON.readTree(configJson.toFile());
        ModelConfig config = ModelConfigs.read(configJson);
        assertEquals(raw.get("hidden_size").intValue(), config.hiddenSize());
        assertEquals(raw.get("intermediate_size").intValue(), config.intermediateSize());
        assertEquals(raw.get("num_hidden_layers").intValue(), config.numLayers());
        assertEquals(raw.get("num_attention_heads").intValue(), config.numHeads());
        assertEquals(raw.get("num_key_value_heads").intValue(), config.numKvHeads());
        assertEquals(raw.get("vocab_size").intValue(), config.vocabSize());
        assertEquals(raw.get("rms_norm_eps").floatValue(), config.rmsNormEps());
        assertEquals(raw.get("rope_theta").doubleValue(), config.ropeTheta());
        assertEquals(raw.get("max_position_embeddings").intValue(), config.maxPositionEmbeddings());
        assertEquals(raw.get("tie_word_embeddings").booleanValue(), config.tieWordEmbeddings());
        assertEquals(raw.get("bos_token_id").intValue(), config.bosTokenId());
        assertEquals(List.of(raw.get("eos_token_id").intValue()), config.eosTokenIds());
        int headDim = raw.has("head_dim") ? raw.get("head_dim").intValue() : config.hiddenSize() / config.numHeads();
        assertEquals(headDim, config.headDim());
    }

    @Test
    void llama3RopeScaling() {
        ModelConfig config = ModelConfigs.read(GoldenModels.golden("llama3-rope-scaling").resolve("config.json"));
        assertEquals(RopeScaling.llama3(8, 1, 4, 8192), config.ropeScaling());
        assertEquals(Architecture.LLAMA, config.architecture());
        assertFalse(config.qkvBias() || config.oBias() || config.mlpBias());
    }

    @Test
    void qwen2BiasesAndTiedEmbeddings() {
        ModelConfig config = ModelConfigs.read(GoldenModels.golden("qwen2-bias-tied").resolve("config.json"));
        assertEquals(Architecture.QWEN2, config.architecture());
        assertTrue(config.qkvBias());
        assertFalse(config.oBias());
        assertTrue(config.tieWordEmbeddings());
        assertEquals(RopeScaling.NONE, config.ropeScaling());
    }

    @Test
    void storiesWithItsGenerationConfig() {
        Path folder = GoldenModels.STORIES;
        GenerationDefaults generation = GenerationDefaults.read(folder.resolve("generation_config.json"));
        assertEquals(List.of(1, 2), generation.eosTokenIds());
        assertEquals(Optional.of(false), generation.doSample());

        ModelConfig config = ModelConfigs.read(folder.resolve("config.json"), generation);
        assertEquals(8, config.headDim());
        assertEquals(4, config.numKvHeads());
        assertEquals(2, config.groupSize());
        assertEquals(1, config.bosTokenId());
        assertEquals(List.of(2, 1), config.eosTokenIds(), "config.json's eos first, then generation_config's");
    }

    @Test
    void defaultsForAbsentKeys() throws IOException {
        ModelConfig config = read(llama());
        assertEquals(4, config.numKvHeads());
        assertEquals(16, config.headDim());
        assertEquals(10_000, config.ropeTheta());
        assertEquals(RopeScaling.NONE, config.ropeScaling());
        assertFalse(config.tieWordEmbeddings() || config.qkvBias() || config.oBias() || config.mlpBias());
        assertEquals(-1, config.bosTokenId());
        assertEquals(List.of(), config.eosTokenIds());
    }

    @Test
    void nullCountsAsAbsent() throws IOException {
        ModelConfig config = read(llama().putNull("head_dim").putNull("rope_scaling").putNull("bos_token_id"));
        assertEquals(16, config.headDim());
        assertEquals(RopeScaling.NONE, config.ropeScaling());
        assertEquals(-1, config.bosTokenId());
    }

    @Test
    void explicitHeadDimWins() throws IOException {
        ModelConfig config = read(llama().put("head_dim", 32).put("num_key_value_heads", 2));
        assertEquals(32, config.headDim());
        assertEquals(128, config.qDim());
        assertEquals(64, config.kvDim());
    }

    @Test
    void llamaAttentionBiasCoversOProjAndMlpBiasTheMlp() throws IOException {
        ModelConfig config = read(llama().put("attention_bias", true).put("mlp_bias", true));
        assertTrue(config.qkvBias() && config.oBias() && config.mlpBias());
    }

    @Test
    void qwen2AlwaysHasQkvBiasAndNeverOBias() throws IOException {
        ModelConfig config = read(llama().put("model_type", "qwen2").put("attention_bias", false)
                .put("mlp_bias", true));
        assertEquals(Architecture.QWEN2, config.architecture());
        assertTrue(config.qkvBias());
        assertFalse(config.oBias() || config.mlpBias());
    }

    @Test
    void mistral() throws IOException {
        ObjectNode json = llama().put("model_type", "mistral");
        json.putArray("architectures").add("MistralForCausalLM");
        ModelConfig config = read(json.put("num_key_value_heads", 1));
        assertEquals(Architecture.MISTRAL, config.architecture());
        assertEquals(4, config.groupSize());
        assertFalse(config.qkvBias() || config.oBias() || config.mlpBias());
    }

    @Test
    void architecturesAloneDecideTheFamily() throws IOException {
        ObjectNode json = llama();
        json.remove("model_type");
        json.putArray("architectures").add("Qwen2ForCausalLM");
        assertEquals(Architecture.QWEN2, read(json).architecture());
    }

    @Test
    void eosAsAList() throws IOException {
        ObjectNode json = llama();
        json.putArray("eos_token_id").add(128001).add(128009);
        assertEquals(List.of(128001, 128009), read(json).eosTokenIds());
    }

    @Test
    void generationEosIsMergedOnce() throws IOException {
        Path configJson = write(llama().put("eos_token_id", 2));
        Path generationJson = Files.writeString(dir.resolve("generation_config.json"),
                "{\"eos_token_id\": [7, 2, 9], \"temperature\": 0.6, \"top_p\": 0.9, \"top_k\": 40,"
                        + " \"max_new_tokens\": 128, \"do_sample\": true}");
        GenerationDefaults generation = GenerationDefaults.read(generationJson);
        assertEquals(OptionalDouble.of(0.6), generation.temperature());
        assertEquals(OptionalDouble.of(0.9), generation.topP());
        assertEquals(OptionalInt.of(40), generation.topK());
        assertEquals(OptionalInt.of(128), generation.maxNewTokens());
        assertEquals(List.of(2, 7, 9), ModelConfigs.read(configJson, generation).eosTokenIds());
    }

    @Test
    void ropeScalingLlama3WithTheOlderTypeKey() throws IOException {
        ObjectNode json = llama();
        json.putObject("rope_scaling").put("type", "llama3").put("factor", 32.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        assertEquals(RopeScaling.llama3(32, 1, 4, 8192), read(json).ropeScaling());
    }

    @Test
    void ropeScalingLinearAndDefault() throws IOException {
        ObjectNode linear = llama();
        linear.putObject("rope_scaling").put("type", "linear").put("factor", 4.0);
        assertEquals(RopeScaling.linear(4), read(linear).ropeScaling());

        ObjectNode none = llama();
        none.putObject("rope_scaling").put("rope_type", "default");
        assertEquals(RopeScaling.NONE, read(none).ropeScaling());
    }

    @Test
    void transformers5RopeParameters() throws IOException {
        ObjectNode json = llama();
        json.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 500000.0)
                .put("factor", 8.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 8192);
        ModelConfig config = read(json);
        assertEquals(500_000, config.ropeTheta());
        assertEquals(RopeScaling.llama3(8, 1, 4, 8192), config.ropeScaling());
    }

    @Test
    void unsupportedRopeScaling() throws IOException {
        ObjectNode json = llama();
        json.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        fails(InvalidConfigException.class, json, "rope_scaling.rope_type", "'yarn'", "llama3");
    }

    @Test
    void llama3RopeScalingWithoutItsFactors() throws IOException {
        ObjectNode json = llama();
        json.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0);
        fails(InvalidConfigException.class, json, "rope_scaling.low_freq_factor", "missing");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "mixtral"})
    void unsupportedModelType(String modelType) throws IOException {
        fails(UnsupportedArchitectureException.class, llama().put("model_type", modelType),
                "'" + modelType + "'", "LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM");
    }

    @Test
    void unsupportedArchitectureClass() throws IOException {
        ObjectNode json = llama();
        json.remove("model_type");
        json.putArray("architectures").add("MixtralForCausalLM");
        fails(UnsupportedArchitectureException.class, json, "'MixtralForCausalLM'", "LlamaForCausalLM");
    }

    @Test
    void modelTypeAndArchitecturesDisagree() throws IOException {
        ObjectNode json = llama();
        json.putArray("architectures").add("Qwen2ForCausalLM");
        fails(InvalidConfigException.class, json, "'llama'", "Qwen2ForCausalLM");
    }

    @Test
    void neitherModelTypeNorArchitectures() throws IOException {
        ObjectNode json = llama();
        json.remove("model_type");
        fails(InvalidConfigException.class, json, "'model_type'", "missing");
    }

    @ParameterizedTest
    @ValueSource(strings = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "vocab_size", "rms_norm_eps", "max_position_embeddings"})
    void missingRequiredField(String field) throws IOException {
        ObjectNode json = llama();
        json.remove(field);
        fails(InvalidConfigException.class, json, "'" + field + "'", "missing");
    }

    @Test
    void fieldOfTheWrongType() throws IOException {
        fails(InvalidConfigException.class, llama().put("hidden_size", "64"), "'hidden_size'", "\"64\"");
    }

    @Test
    void nonPositiveSize() throws IOException {
        fails(InvalidConfigException.class, llama().put("num_hidden_layers", 0), "'num_hidden_layers'", "is 0");
    }

    @Test
    void headsNotAMultipleOfKvHeads() throws IOException {
        fails(InvalidConfigException.class, llama().put("num_key_value_heads", 3), "num_key_value_heads 3");
    }

    @Test
    void hiddenNotAMultipleOfHeadsWithoutHeadDim() throws IOException {
        fails(InvalidConfigException.class, llama().put("num_attention_heads", 6), "'head_dim'", "hidden_size 64");
    }

    @Test
    void notJson() throws IOException {
        Path file = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 64,");
        var e = assertThrows(InvalidConfigException.class, () -> ModelConfigs.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("not valid JSON"),
                e.getMessage());
    }

    @Test
    void duplicateKey() throws IOException {
        Path file = Files.writeString(dir.resolve("config.json"),
                llama().toString().replace("{", "{\"hidden_size\": 32, "));
        var e = assertThrows(InvalidConfigException.class, () -> ModelConfigs.read(file));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
    }
}
