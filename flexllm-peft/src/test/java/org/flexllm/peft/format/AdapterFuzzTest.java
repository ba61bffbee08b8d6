package org.flexllm.peft.format;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.flexllm.FlexLlmException;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.peft.AdapterConfig;

/**
 * Any bytes as a PEFT adapter's {@code adapter_config.json} (beside valid weights) or as its
 * {@code adapter_model.safetensors} (beside a valid config): {@link AdapterFolder#read} returns an adapter for the
 * model, or throws one of its documented {@link FlexLlmException}s. Seeds: {@code AdapterFuzzTestInputs};
 * {@code scripts/fuzz.sh} adds the adapters of {@code ../shared/golden}.
 */
class AdapterFuzzTest {
    /** One layer, q/k/v/o 8 wide (2 heads of 4), one KV head, an MLP of 8: PEFT shapes of a few floats each. */
    private static final ModelConfig MODEL = ModelConfigs.read(FuzzInputs.file("config.json", """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
             "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16, "rms_norm_eps": 1e-05,
             "max_position_embeddings": 32}""".getBytes(StandardCharsets.UTF_8)));
    /** A LoRA of rank 2 on q_proj and v_proj, as the seeds' weights are. */
    private static final byte[] CONFIG = """
            {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"], "bias": "none",
             "task_type": "CAUSAL_LM"}""".getBytes(StandardCharsets.UTF_8);
    /** The weights that go with {@link #CONFIG}: the committed seed of {@link #adapterWeights}. */
    private static final byte[] WEIGHTS = resource("AdapterFuzzTestInputs/adapterWeights/lora-q-v.safetensors");

    @DictionaryEntries({"\"peft_type\"", "\"LORA\"", "\"IA3\"", "\"r\"", "\"lora_alpha\"", "\"lora_dropout\"",
            "\"target_modules\"", "\"feedforward_modules\"", "\"q_proj\"", "\"k_proj\"", "\"v_proj\"", "\"o_proj\"",
            "\"gate_proj\"", "\"up_proj\"", "\"down_proj\"", "\"all-linear\"", "\"use_rslora\"", "\"use_dora\"",
            "\"bias\"", "\"none\"", "\"fan_in_fan_out\"", "\"modules_to_save\"", "\"rank_pattern\"",
            "\"alpha_pattern\"", "\"layers_to_transform\"", "\"base_model_name_or_path\"", "null", "false"})
    @FuzzTarget
    void adapterConfigJson(byte[] bytes) {
        read(Map.of(AdapterConfig.FILE_NAME, bytes, AdapterFolder.WEIGHTS_FILE, WEIGHTS));
    }

    @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"F32\"", "\"BF16\"", "\"F16\"",
            "\"__metadata__\"", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
            "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"})
    @FuzzTarget
    void adapterWeights(byte[] bytes) {
        read(Map.of(AdapterConfig.FILE_NAME, CONFIG, AdapterFolder.WEIGHTS_FILE, bytes));
    }

    private static void read(Map<String, byte[]> files) {
        try (Arena arena = Arena.ofConfined()) {
            FuzzInputs.resultOr(FlexLlmException.class, () -> AdapterFolder.read(FuzzInputs.folder("input", files), MODEL, arena));
        }
    }

    private static byte[] resource(String name) {
        try (var in = AdapterFuzzTest.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
