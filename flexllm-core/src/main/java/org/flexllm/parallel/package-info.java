/**
 * Tensor parallelism: the {@link org.flexllm.parallel.Communicator} SPI and its in-process implementation, the
 * Megatron-style partitioning of the decoder graph with the dependent partitioning of the PEFT bypass ops derived
 * from it ({@link org.flexllm.parallel.TensorParallelPlan}), and the ranks that run a sharded model together.
 */
package org.flexllm.parallel;
