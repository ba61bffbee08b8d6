package org.flexllm.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Plain HTTP against a server, for what an SDK would hide: status codes, headers, the SSE framing. */
record RawHttp(HttpClient client, String base, String key) {
    static final Duration DEADLINE = Duration.ofSeconds(60);

    static RawHttp to(FlexLlmServer server) {
        return to(server, null);
    }

    static RawHttp to(FlexLlmServer server, String key) {
        return new RawHttp(HttpClient.newBuilder().connectTimeout(DEADLINE).build(),
                "http://127.0.0.1:" + server.port(), key);
    }

    HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return client.send(request(path).POST(HttpRequest.BodyPublishers.ofString(json))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(DEADLINE);
        return key == null ? b : b.header("Authorization", "Bearer " + key);
    }
}
