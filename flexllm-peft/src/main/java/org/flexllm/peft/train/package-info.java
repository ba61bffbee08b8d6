/**
 * Finetuning jobs: {@link org.flexllm.peft.train.Finetuner} starts a {@link org.flexllm.peft.train.FinetuneJob}
 * that trains one adapter, on a thread of its own or inside a co-serving engine's iterations as a
 * {@link org.flexllm.engine.TrainingSource} (forward windows and layer-sliced backward through the pruned graph,
 * gradient accumulation, clipping, the optimizer), with atomic checkpoints to resume from.
 */
package org.flexllm.peft.train;
