/**
 * The co-serving engine: the iteration loop that plans, batches inference with a finetuning window, runs the
 * model, runs a backward slice, and delivers tokens; the finetuning jobs attached to it through
 * {@link org.flexllm.engine.TrainingSource}; its metrics and iteration trace.
 */
package org.flexllm.engine;
