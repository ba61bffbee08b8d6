package org.flexllm.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A streaming client on a bare socket, so that a test controls exactly when it stops reading and hangs up: the
 * request's events ({@code data:} lines) are read one at a time.
 */
final class SseClient implements AutoCloseable {
    private static final int READ_TIMEOUT_MS = 60_000;

    private final Socket socket;
    private final BufferedReader in;
    private String statusLine;

    private SseClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Posts {@code json} to {@code path} and reads the status line. */
    static SseClient post(int port, String path, String json) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(READ_TIMEOUT_MS);
        SseClient client = new SseClient(socket);
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(body);
        out.flush();
        client.statusLine = client.in.readLine();
        return client;
    }

    String statusLine() {
        return statusLine;
    }

    /** The next event's data, or null at the end of the stream. */
    String next() throws IOException {
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("data: ")) {
                return line.substring("data: ".length());
            }
        }
        return null;
    }

    /** Every event's data up to {@code [DONE]} or the end of the stream. */
    List<String> rest() throws IOException {
        List<String> events = new ArrayList<>();
        for (String e; (e = next()) != null; ) {
            events.add(e);
            if (e.equals("[DONE]")) {
                break;
            }
        }
        return events;
    }

    /** Hangs up, whatever the server is still sending. */
    @Override
    public void close() throws IOException {
        socket.close();
    }
}
