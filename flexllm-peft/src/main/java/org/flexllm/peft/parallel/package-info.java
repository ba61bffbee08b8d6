/**
 * PEFT adapters under tensor parallelism: each rank's slices of an adapter's parameters, as the dependent
 * partitioning of {@link org.flexllm.parallel.TensorParallelPlan} splits them, and the ranks' gradients summed back
 * into the whole parameters (the plan's once-per-step gradient all-reduces).
 */
package org.flexllm.peft.parallel;
