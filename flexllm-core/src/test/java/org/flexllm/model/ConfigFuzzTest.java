package org.flexllm.model;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;

/**
 * Any bytes as {@code config.json} or {@code generation_config.json}: a config, or an
 * {@link InvalidConfigException}. Seeds: {@code ConfigFuzzTestInputs}; {@code scripts/fuzz.sh} adds the configs of
 * {@code ../shared}.
 */
class ConfigFuzzTest {
    @DictionaryEntries({"\"architectures\"", "\"LlamaForCausalLM\"", "\"Qwen2ForCausalLM\"", "\"MistralForCausalLM\"",
            "\"model_type\"", "\"hidden_size\"", "\"intermediate_size\"", "\"num_hidden_layers\"",
            "\"num_attention_heads\"", "\"num_key_value_heads\"", "\"head_dim\"", "\"vocab_size\"", "\"rms_norm_eps\"",
            "\"rope_theta\"", "\"rope_scaling\"", "\"rope_parameters\"", "\"rope_type\"", "\"llama3\"", "\"linear\"",
            "\"factor\"", "\"max_position_embeddings\"", "\"tie_word_embeddings\"", "\"attention_bias\"",
            "\"bos_token_id\"", "\"eos_token_id\"", "\"torch_dtype\"", "null", "true", "1e-05"})
    @FuzzTarget
    void configJson(byte[] bytes) {
        FuzzInputs.resultOr(InvalidConfigException.class,
                () -> ModelConfigs.read(FuzzInputs.file("config.json", bytes)));
    }

    @DictionaryEntries({"\"eos_token_id\"", "\"do_sample\"", "\"temperature\"", "\"top_p\"", "\"top_k\"",
            "\"max_new_tokens\"", "null", "true", "[1, 2]"})
    @FuzzTarget
    void generationConfigJson(byte[] bytes) {
        FuzzInputs.resultOr(InvalidConfigException.class,
                () -> GenerationDefaults.read(FuzzInputs.file("generation_config.json", bytes)));
    }
}
