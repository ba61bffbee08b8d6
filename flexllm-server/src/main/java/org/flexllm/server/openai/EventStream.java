package org.flexllm.server.openai;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import io.helidon.webserver.CloseConnectionException;
import java.nio.charset.StandardCharsets;
import org.flexllm.server.Json;

/**
 * A server-sent event stream as OpenAI frames it: {@code data: JSON} events, a blank line after each, and a last
 * {@code data: [DONE]}. Every event is flushed at once so the client sees each token as it is generated; a write
 * that fails means the client has gone.
 */
final class EventStream {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    /** A comment line: clients ignore it, and writing it finds a client that left while its request waited. */
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);

    private final OutputStream out;

    EventStream(ServerResponse response) {
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        this.out = response.outputStream();
    }

    /** Sends one event; throws {@link ClientGoneException} when the client has gone. */
    void send(Object event) {
        write(("data: " + Json.string(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    void keepAlive() {
        write(KEEP_ALIVE);
    }

    void done() {
        write(DONE);
    }

    void close() {
        try {
            out.close();
        } catch (IOException | RuntimeException e) {
            throw new ClientGoneException(e);
        }
    }

    private void write(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException | RuntimeException e) {
            throw new ClientGoneException(e);
        }
    }

    /**
     * The client closed the connection while its answer streamed. A {@link CloseConnectionException}, so that the
     * webserver drops the connection quietly instead of trying to answer on it.
     */
    static final class ClientGoneException extends CloseConnectionException {
        private static final long serialVersionUID = 1L;

        ClientGoneException(Exception cause) {
            super("the client closed the connection", cause);
        }
    }
}
