package org.flexllm.api;

/**
 * Receives a request's tokens as they are generated, on the engine's thread: return quickly, since every
 * request in the batch waits for it. Exceptions it throws are logged and ignored.
 */
@FunctionalInterface
public interface TokenListener {
    void onToken(TokenEvent event);
}
