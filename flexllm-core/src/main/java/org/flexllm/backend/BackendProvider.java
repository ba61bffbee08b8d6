package org.flexllm.backend;

import java.util.Map;

/**
 * Makes a {@link Backend} available by name. Providers are found with {@link java.util.ServiceLoader}, so a
 * backend module (e.g. CUDA) plugs in by being on the class path.
 */
public interface BackendProvider {
    /** The name users select it by ({@code cpu}, {@code cuda}). */
    String name();

    /** Higher wins when the user asks for the best available backend. */
    int priority();

    /** Whether this machine can run it (a GPU and its driver are present, ...). */
    boolean isAvailable();

    /**
     * A new backend.
     *
     * @throws BackendUnavailableException (or a subtype naming the cause) when {@link #isAvailable()} is false
     */
    Backend create();

    /**
     * Why {@link #isAvailable()} is false (no driver, no device, ...), for {@code auto}'s fallback and
     * {@code flexllm info}; empty when it is available.
     */
    default String unavailableReason() {
        return isAvailable() ? "" : name() + " cannot run on this machine";
    }

    /**
     * What the backend found on this machine (vector width, threads, library versions), keyed in snake_case, for
     * {@code flexllm info}.
     */
    default Map<String, Object> facts() {
        return Map.of();
    }
}
