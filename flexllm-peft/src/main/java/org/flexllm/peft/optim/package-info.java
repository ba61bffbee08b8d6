/**
 * Optimizers with PyTorch's semantics (SGD with momentum, AdamW) over f32 parameters, their checkpointable
 * state, learning-rate schedules and gradient clipping.
 */
package org.flexllm.peft.optim;
