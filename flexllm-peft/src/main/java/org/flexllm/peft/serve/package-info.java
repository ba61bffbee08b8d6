/**
 * Serving PEFT adapters: {@link org.flexllm.peft.serve.AdapterRegistry}, the engine's
 * {@link org.flexllm.api.AdapterHost} for many LoRA and IA3 adapters with a bounded number resident.
 */
package org.flexllm.peft.serve;
