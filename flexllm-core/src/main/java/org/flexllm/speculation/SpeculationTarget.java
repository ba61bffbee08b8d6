package org.flexllm.speculation;

import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.graph.CompiledModel;

/**
 * What a speculator may build on: the target model as loaded and as compiled, and the engine's limits.
 *
 * @param model       the target's config, weights and tokenizer
 * @param backend     the backend the target runs on (a draft model may run there too)
 * @param compiled    the target compiled for the engine
 * @param maxModelLen  the longest sequence the engine accepts
 * @param maxSequences the most requests running at once
 * @param seed         the engine's random seed
 */
public record SpeculationTarget(LoadedModel model, Backend backend, CompiledModel compiled, int maxModelLen,
                                int maxSequences, long seed) {}
