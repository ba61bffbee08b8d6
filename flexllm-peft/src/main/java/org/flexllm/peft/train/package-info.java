/**
 * Finetuning jobs: {@link org.flexllm.peft.train.Finetuner} starts a {@link org.flexllm.peft.train.FinetuneJob}
 * that trains one adapter on its own thread (forward windows and layer-sliced backward through the pruned
 * graph, gradient accumulation, clipping, the optimizer), with atomic checkpoints to resume from.
 */
package org.flexllm.peft.train;
