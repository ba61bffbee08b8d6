package org.flexllm.speculation;

/**
 * Makes an engine's {@link Speculator} once the target model is loaded and compiled: a draft that runs on the
 * target's own weights or backend ({@code layers:N}) needs them. {@code flexllm-spec} provides the factories.
 */
@FunctionalInterface
public interface SpeculatorFactory {
    Speculator create(SpeculationTarget target);
}
