package org.flexllm.server;

import java.io.Serial;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flexllm.FlexLlmException;

/**
 * A request the server refuses, answered in OpenAI's error shape
 * ({@code {"error": {"message", "type", "param", "code"}}}) with its HTTP status.
 */
public final class ApiError extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Map<String, String> headers;

    private ApiError(int status, String type, String message, String param, String code, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headers = Map.copyOf(headers);
    }

    /** 400: the request is malformed or names something impossible; {@code param} names the field, or null. */
    public static ApiError badRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null, Map.of());
    }

    /** 404 with a code OpenAI's clients recognise, e.g. {@code model_not_found}. */
    public static ApiError notFound(String message, String param, String code) {
        return new ApiError(404, "invalid_request_error", message, param, code, Map.of());
    }

    /** 401: no API key, or the wrong one. */
    public static ApiError unauthorized(String message) {
        return new ApiError(401, "invalid_request_error", message, null, "invalid_api_key", Map.of());
    }

    /** 429 with {@code Retry-After}: the server holds as many requests as it admits. */
    public static ApiError tooManyRequests(String message, int retryAfterSeconds) {
        return new ApiError(429, "rate_limit_error", message, null, "rate_limit_exceeded",
                Map.of("Retry-After", String.valueOf(retryAfterSeconds)));
    }

    /** 503: the server is shutting down. */
    public static ApiError unavailable(String message) {
        return new ApiError(503, "server_error", message, null, "service_unavailable", Map.of());
    }

    /** 500: the engine failed; the message says how. */
    public static ApiError internal(String message) {
        return new ApiError(500, "server_error", message, null, null, Map.of());
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** Headers the answer carries besides the body, e.g. {@code Retry-After}. */
    public Map<String, String> headers() {
        return headers;
    }

    /** The JSON body. */
    public Map<String, Object> body() {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", getMessage());
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return Map.of("error", error);
    }
}
