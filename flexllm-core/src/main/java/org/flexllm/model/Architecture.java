package org.flexllm.model;

/** The LLaMA-family architectures we run; they differ only in biases and defaults. */
public enum Architecture {
    /** LlamaForCausalLM: Llama 2, 3, 3.1, 3.2 and their finetunes. */
    LLAMA,
    /** Qwen2ForCausalLM: biases on q/k/v (none on o). */
    QWEN2,
    /** MistralForCausalLM: Llama's layout. */
    MISTRAL
}
