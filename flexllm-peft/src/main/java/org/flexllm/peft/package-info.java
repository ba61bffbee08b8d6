/**
 * Parameter-efficient finetuning in Hugging Face PEFT's formats: adapters ({@link org.flexllm.peft.AdapterConfig},
 * {@link org.flexllm.peft.Adapter}) read and written as PEFT folders ({@code format}), initialised as PEFT does
 * ({@code init}), attached to the model graph as bypass ops ({@code bypass}: LoRA's shrink/expand, IA3's
 * scaling, per adapter segment of a batch), trained by jobs ({@code train}) on JSONL datasets ({@code data})
 * with SGD or AdamW ({@code optim}). Core reaches this module only through its graph-pass and op interfaces.
 */
package org.flexllm.peft;
