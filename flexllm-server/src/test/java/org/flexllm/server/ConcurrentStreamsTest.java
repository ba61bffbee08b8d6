package org.flexllm.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.flexllm.model.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fifty streaming clients at once on the base model and an adapter, one in five hanging up after its first
 * token: every other stream completes, and afterwards nothing is held (KV blocks free, adapter unpinned, no
 * admitted generation).
 */
class ConcurrentStreamsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 50;
    private static final int TOKENS = 24;

    @TempDir
    Path temp;

    /** How one client's stream ended: the finish reason and token count of a complete one, or null when it left. */
    private record Outcome(String finishReason, int tokens) {}

    @Test
    void disconnectsFreeTheirResourcesAndTheOtherStreamsComplete() throws Exception {
        Path adapter = Adapters.write(temp.resolve("lora"), SyntheticModel.config("tiny"));
        try (FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"),
                b -> b.adapter("lora", adapter).engine(e -> e.maxSequences(64)));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Outcome>> outcomes = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                boolean leaves = i % 5 == 0;
                String model = i % 2 == 0 ? "lora" : "synthetic:tiny";
                outcomes.add(clients.submit(() -> client(server.port(), model, leaves)));
            }
            int completed = 0;
            for (int i = 0; i < CLIENTS; i++) {
                Outcome o = outcomes.get(i).get(120, TimeUnit.SECONDS);
                if (i % 5 != 0) {
                    assertNotNull(o, "client " + i + " completed");
                    assertEquals("length", o.finishReason());
                    assertEquals(TOKENS, o.tokens());
                    completed++;
                }
            }
            assertEquals(CLIENTS - CLIENTS / 5, completed);
            Deadline.await(Duration.ofSeconds(30), () -> server.engine().freeKvBlocks() == server.engine().kvBlocks()
                    && server.adapters().pins("lora") == 0 && metrics(server).contains("flexllm_server_pending 0.0"),
                    () -> "free KV blocks " + server.engine().freeKvBlocks() + " of " + server.engine().kvBlocks()
                            + ", adapter pins " + server.adapters().pins("lora") + ", " + metrics(server).lines()
                            .filter(l -> l.startsWith("flexllm_server_pending")).toList());
        }
    }

    private static String metrics(FlexLlmServer server) {
        try {
            return RawHttp.to(server).get("/metrics").body();
        } catch (Exception e) {
            throw new IllegalStateException("cannot read /metrics", e);
        }
    }

    /** Streams a completion; a leaving client hangs up after its first token and returns null. */
    private static Outcome client(int port, String model, boolean leaves) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"prompt\":\"hello\",\"max_tokens\":" + TOKENS
                + ",\"ignore_eos\":true,\"temperature\":0,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
        try (SseClient sse = SseClient.post(port, "/v1/completions", body)) {
            assertTrue(sse.statusLine().contains("200"), sse.statusLine());
            if (leaves) {
                assertNotNull(sse.next());
                return null;
            }
            List<String> events = sse.rest();
            assertEquals("[DONE]", events.getLast());
            JsonNode usage = JSON.readTree(events.get(events.size() - 2)).get("usage");
            JsonNode finish = JSON.readTree(events.get(events.size() - 3)).get("choices").get(0).get("finish_reason");
            return new Outcome(finish.asText(), usage.get("completion_tokens").asInt());
        }
    }
}
