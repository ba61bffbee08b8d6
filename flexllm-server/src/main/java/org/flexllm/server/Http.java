package org.flexllm.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writing JSON answers, and the error handling every route shares. */
public final class Http {
    private static final Logger LOG = LoggerFactory.getLogger(Http.class);

    private Http() {}

    /** Sends {@code body} as JSON with {@code status}. */
    public static void json(ServerResponse response, int status, Object body) {
        response.status(Status.create(status));
        response.header(HeaderNames.CONTENT_TYPE, "application/json");
        response.send(Json.bytes(body));
    }

    /** Sends the error in OpenAI's shape, unless the answer has started (a stream reports its own errors). */
    public static void error(ServerResponse response, ApiError error) {
        if (response.isSent()) {
            return;
        }
        try {
            for (Map.Entry<String, String> h : error.headers().entrySet()) {
                response.header(h.getKey(), h.getValue());
            }
            json(response, error.status(), error.body());
        } catch (IllegalStateException streaming) {
            // A stream's headers are out already: it has written its own error event.
            LOG.debug("cannot answer {} on a stream under way", error.getMessage());
        }
    }

    /** A route's work, which may refuse the request with an {@link ApiError}. */
    @FunctionalInterface
    public interface Route {
        void handle(ServerRequest request, ServerResponse response) throws Exception;
    }

    /**
     * The route as a handler that answers an {@link ApiError} in OpenAI's shape and any other failure as a 500
     * naming it, after checking the API key when the server has one.
     */
    public static Handler handler(ApiKey key, Route route) {
        return (request, response) -> {
            try {
                key.check(request);
                route.handle(request, response);
            } catch (ApiError e) {
                error(response, e);
            } catch (CloseConnectionException e) {
                throw e; // the client has gone: nothing to answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                error(response, ApiError.unavailable("the server is shutting down"));
            } catch (RuntimeException e) {
                LOG.warn("{} {} failed", request.prologue().method(), request.path().path(), e);
                error(response, EngineErrors.map(e));
            }
        };
    }

    /** The body of a request. */
    public static byte[] body(ServerRequest request) {
        return request.content().hasEntity() ? request.content().as(byte[].class) : new byte[0];
    }
}
