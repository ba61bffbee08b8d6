/**
 * Token accounting and the scheduling policy: sequences ({@link org.flexllm.schedule.Sequence}) and finetuning
 * lanes ({@link org.flexllm.schedule.TrainingLane}) know how many of their tokens are computed;
 * {@link org.flexllm.schedule.Scheduler} hands out inference's share of each iteration's token budget (prefill
 * chunks sized by the SLO), and {@link org.flexllm.schedule.HybridScheduler} (the policy) gives finetuning what the
 * requests' SLOs leave, judged by the bound of a {@link org.flexllm.schedule.LatencyModel}
 * ({@link org.flexllm.schedule.LinearLatencyModel}: hardware-shaped, non-negative, refined online, with a margin
 * learned from its own error).
 */
package org.flexllm.schedule;
