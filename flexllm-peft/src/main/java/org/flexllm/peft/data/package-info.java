/**
 * Finetuning datasets: JSONL files (text, prompt/completion, chat, pre-tokenized) read into training examples
 * in Hugging Face's label convention, held-out splits and the seeded order of each epoch.
 */
package org.flexllm.peft.data;
