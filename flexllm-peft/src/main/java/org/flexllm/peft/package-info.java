/**
 * Parameter-efficient finetuning: LoRA and IA3 bypass ops, the HF PEFT adapter format, optimizers and
 * finetuning jobs. Filled by the PEFT issue; core reaches it only through its bypass and
 * training-work interfaces.
 */
package org.flexllm.peft;
