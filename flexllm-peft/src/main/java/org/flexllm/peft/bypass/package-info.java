/**
 * PEFT methods as bypass ops of the model graph: {@link org.flexllm.peft.bypass.BypassPass} attaches them at
 * compile time; they read the weights of the adapters resident in {@link org.flexllm.peft.bypass.ResidentAdapters}
 * by the slot each token's sequence names, forward and backward.
 */
package org.flexllm.peft.bypass;
