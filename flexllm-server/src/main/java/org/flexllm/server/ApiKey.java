package org.flexllm.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The key clients must send as {@code Authorization: Bearer KEY} on the {@code /v1} routes, as OpenAI's clients do;
 * none when the server runs without {@code --api-key}. {@code /health} and {@code /metrics} stay open, as in vLLM,
 * for probes and scrapers.
 *
 * @param key the key, or null for none
 */
public record ApiKey(String key) {
    private static final String BEARER = "Bearer ";

    /** @throws ApiError 401 when the request lacks the key or carries another */
    public void check(ServerRequest request) {
        if (key == null) {
            return;
        }
        String header = request.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (header == null || !header.startsWith(BEARER)) {
            throw ApiError.unauthorized("missing API key: send it as 'Authorization: Bearer KEY'");
        }
        // A constant-time comparison: the time a wrong key takes to refuse says nothing about the right one.
        if (!MessageDigest.isEqual(key.getBytes(StandardCharsets.UTF_8),
                header.substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8))) {
            throw ApiError.unauthorized("incorrect API key provided");
        }
    }
}
