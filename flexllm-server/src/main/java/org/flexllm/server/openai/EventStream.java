package org.flexllm.server.openai;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.flexllm.server.Json;

/**
 * A server-sent event stream as OpenAI frames it: {@code data: JSON} events, a blank line after each, and a last
 * {@code data: [DONE]}. Events are {@linkplain #add added} to the response's buffer and go out at the next
 * {@link #flush}: the events that were ready together leave in one write, so a client that fell behind the engine
 * gets them in one read instead of a write, a flush and a wake-up per event. A write that fails means the client has
 * gone.
 */
final class EventStream {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.UTF_8);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    /** A comment line: clients ignore it, and writing it finds a client that left while its request waited. */
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);

    private final OutputStream out;

    EventStream(ServerResponse response) {
        this(startEvents(response));
    }

    /** Events written to {@code out}, a buffered stream: nothing reaches the client before {@link #flush}. */
    EventStream(OutputStream out) {
        this.out = out;
    }

    private static OutputStream startEvents(ServerResponse response) {
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        return response.outputStream();
    }

    /**
     * Adds one event to those the next {@link #flush} sends (the buffer may fill and send some sooner); throws
     * {@link ClientGoneException} when the client has gone.
     */
    void add(Object event) {
        byte[] json = Json.bytes(event);
        write(DATA);
        write(json);
        write(END);
    }

    /** Sends one event at once. */
    void send(Object event) {
        add(event);
        flush();
    }

    void keepAlive() {
        write(KEEP_ALIVE);
        flush();
    }

    void done() {
        write(DONE);
        flush();
    }

    /** Sends the events added since the last flush. */
    void flush() {
        try {
            out.flush();
        } catch (IOException | RuntimeException e) {
            throw new ClientGoneException(e);
        }
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
