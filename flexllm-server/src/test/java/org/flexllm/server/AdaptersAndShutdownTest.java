package org.flexllm.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.flexllm.model.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vLLM's adapter loading and unloading over HTTP, and a graceful shutdown that lets a stream in flight finish. */
class AdaptersAndShutdownTest {
    @TempDir
    Path temp;

    private static String completion(String model) {
        return "{\"model\":\"" + model + "\",\"prompt\":\"hi\",\"max_tokens\":3}";
    }

    @Test
    void adaptersLoadServeAndUnload() throws Exception {
        Path adapter = Adapters.write(temp.resolve("lora"), SyntheticModel.config("tiny"));
        try (FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"), b -> { })) {
            RawHttp http = RawHttp.to(server);
            assertEquals(404, http.post("/v1/completions", completion("mine")).statusCode());
            var loaded = http.post("/v1/load_lora_adapter", "{\"lora_name\":\"mine\",\"lora_path\":\"" + adapter + "\"}");
            assertEquals(200, loaded.statusCode(), loaded.body());
            assertTrue(http.get("/v1/models").body().contains("\"id\":\"mine\""));
            assertEquals(200, http.post("/v1/completions", completion("mine")).statusCode());
            assertEquals(400, http.post("/v1/load_lora_adapter", "{\"lora_name\":\"mine\",\"lora_path\":\"" + adapter
                    + "\"}").statusCode(), "a name served already");
            assertEquals(400, http.post("/v1/load_lora_adapter", "{\"lora_name\":\"x\",\"lora_path\":\"" + temp
                    .resolve("absent") + "\"}").statusCode(), "no such folder");
            assertEquals(200, http.post("/v1/unload_lora_adapter", "{\"lora_name\":\"mine\"}").statusCode());
            assertEquals(404, http.post("/v1/completions", completion("mine")).statusCode());
            assertEquals(404, http.post("/v1/unload_lora_adapter", "{\"lora_name\":\"mine\"}").statusCode());
        }
    }

    @Test
    void closingLetsAStreamInFlightFinish() throws Exception {
        FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"),
                b -> b.shutdownGrace(Duration.ofSeconds(60)));
        String body = "{\"model\":\"synthetic:tiny\",\"prompt\":\"abc\",\"max_tokens\":64,\"ignore_eos\":true,"
                + "\"stream\":true}";
        try (SseClient sse = SseClient.post(server.port(), "/v1/completions", body)) {
            assertNotNull(sse.next(), "the stream started");
            // Not on the common pool, where the engine completes its futures: a close waiting there for the stream
            // would hold up the stream's own ending on a small machine.
            Thread closing = Thread.ofPlatform().start(server::close);
            List<String> rest = sse.rest();
            assertEquals("[DONE]", rest.getLast(), "the stream ran to its end: " + rest);
            assertTrue(rest.get(rest.size() - 2).contains("\"finish_reason\":\"length\""), rest.toString());
            assertTrue(closing.join(Duration.ofSeconds(60)), "closed");
        } finally {
            server.close();
        }
    }
}
