/**
 * Hugging Face PEFT adapter folders: the tensor keys and shapes PEFT uses for LoRA and IA3, reading an adapter
 * validated against a model, and writing one atomically.
 */
package org.flexllm.peft.format;
