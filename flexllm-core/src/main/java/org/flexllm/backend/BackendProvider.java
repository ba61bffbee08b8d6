package org.flexllm.backend;

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

    Backend create();
}
