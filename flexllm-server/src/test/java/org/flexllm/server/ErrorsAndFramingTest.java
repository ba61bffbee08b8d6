package org.flexllm.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw HTTP: OpenAI-shaped errors with the right status codes, and the SSE framing of a stream. */
class ErrorsAndFramingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "sk-raw";

    @TempDir
    static Path state;
    static FlexLlmServer server;
    static RawHttp http;

    @BeforeAll
    static void start() {
        server = Servers.start(Servers.STORIES, state, b -> b.apiKey(KEY));
        http = RawHttp.to(server, KEY);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String completion(String extra) {
        return "{\"model\":\"" + server.modelName() + "\",\"prompt\":\"Once\",\"max_tokens\":4" + extra + "}";
    }

    private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertNotNull(error, r.body());
        assertTrue(error.get("message").asText().length() > 10, r.body());
        assertTrue(error.has("type") && error.has("param") && error.has("code"), r.body());
        return error;
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertTrue(error(http.post("/v1/completions", "{\"model\": "), 400).get("message").asText()
                .contains("not valid JSON"));
    }

    @Test
    void aFieldOfTheWrongTypeIs400NamingIt() throws Exception {
        JsonNode e = error(http.post("/v1/completions", completion(",\"max_tokens\":\"many\"")), 400);
        assertEquals("max_tokens", e.get("param").asText());
        e = error(http.post("/v1/chat/completions", "{\"model\":\"" + server.modelName()
                + "\",\"messages\":[{\"role\":\"user\",\"content\":5}]}"), 400);
        assertEquals("messages[0].content", e.get("param").asText());
        e = error(http.post("/v1/completions", completion(",\"temperature\":-1")), 400);
        assertTrue(e.get("message").asText().contains("temperature"), e.toString());
    }

    @Test
    void anUnknownModelIs404() throws Exception {
        JsonNode e = error(http.post("/v1/completions", "{\"model\":\"gpt-9\",\"prompt\":\"hi\"}"), 404);
        assertEquals("model_not_found", e.get("code").asText());
        assertTrue(e.get("message").asText().contains(server.modelName()), "names what is served");
    }

    @Test
    void aPromptLongerThanTheContextIs400() throws Exception {
        String prompt = "Once upon a time ".repeat(2 * server.engine().maxModelLen());
        JsonNode e = error(http.post("/v1/completions", "{\"model\":\"" + server.modelName() + "\",\"prompt\":\""
                + prompt + "\"}"), 400);
        assertTrue(e.get("message").asText().contains("context limit"), e.toString());
    }

    @Test
    void aMissingOrWrongKeyIs401AndHealthStaysOpen() throws Exception {
        RawHttp none = RawHttp.to(server);
        assertEquals("invalid_api_key", error(none.post("/v1/completions", completion("")), 401).get("code").asText());
        RawHttp wrong = RawHttp.to(server, "sk-wrong");
        assertEquals("invalid_api_key", error(wrong.get("/v1/models"), 401).get("code").asText());
        assertEquals(200, none.get("/health").statusCode());
    }

    @Test
    void penaltiesOutOfVllmsRangesAre400sNamingTheField() throws Exception {
        JsonNode e = error(http.post("/v1/completions", completion(",\"presence_penalty\":2.5")), 400);
        assertEquals("presence_penalty", e.get("param").asText());
        assertTrue(e.get("message").asText().contains("[-2, 2]"), e.toString());
        assertEquals("frequency_penalty", error(http.post("/v1/completions",
                completion(",\"frequency_penalty\":-3")), 400).get("param").asText());
        assertEquals("repetition_penalty", error(http.post("/v1/completions",
                completion(",\"repetition_penalty\":0")), 400).get("param").asText());
        assertEquals("frequency_penalty", error(http.post("/v1/completions",
                completion(",\"frequency_penalty\":\"high\"")), 400).get("param").asText());
        assertEquals(200, http.post("/v1/completions", completion(
                ",\"presence_penalty\":-2,\"frequency_penalty\":2,\"repetition_penalty\":1.2")).statusCode());
    }

    @Test
    void aStreamIsFramedAsOpenAiFramesIt() throws Exception {
        HttpResponse<String> r = http.post("/v1/completions", completion(
                ",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":6,\"temperature\":0"));
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
        List<String> events = List.of(r.body().split("\n\n"));
        assertTrue(events.stream().allMatch(e -> e.startsWith("data: ")), r.body());
        assertEquals("data: [DONE]", events.getLast());
        JsonNode usage = JSON.readTree(events.get(events.size() - 2).substring(6));
        assertEquals(0, usage.get("choices").size());
        assertEquals(6, usage.get("usage").get("completion_tokens").asInt());
        JsonNode last = JSON.readTree(events.get(events.size() - 3).substring(6));
        assertEquals("length", last.get("choices").get(0).get("finish_reason").asText());
        for (String e : events.subList(0, events.size() - 3)) {
            JsonNode chunk = JSON.readTree(e.substring(6));
            assertEquals("text_completion", chunk.get("object").asText());
            assertTrue(chunk.get("choices").get(0).get("finish_reason").isNull());
            assertTrue(chunk.get("usage").isNull());
        }
    }

    @Test
    void aRequestsOwnSloIsAcceptedAndABadOneRefused() throws Exception {
        assertEquals(200, http.post("/v1/completions", completion(",\"slo\":{\"ttft_ms\":500,\"tpot_ms\":50}"))
                .statusCode());
        assertEquals("slo", error(http.post("/v1/completions", completion(",\"slo\":{\"ttft_ms\":-1,\"tpot_ms\":5}")),
                400).get("param").asText());
    }

    @Test
    void badFineTuningRequestsNameWhatIsWrong() throws Exception {
        String model = "\"model\":\"" + server.modelName() + "\"";
        assertEquals("file_not_found", error(http.post("/v1/fine_tuning/jobs", "{" + model
                + ",\"training_file\":\"file-nope\"}"), 404).get("code").asText());
        assertEquals("hyperparameters.n_epochs", error(http.post("/v1/fine_tuning/jobs", "{" + model
                + ",\"training_file\":\"file-nope\",\"hyperparameters\":{\"n_epochs\":\"many\"}}"), 400)
                .get("param").asText());
        assertEquals("model_not_found", error(http.post("/v1/fine_tuning/jobs",
                "{\"model\":\"gpt-9\",\"training_file\":\"file-nope\"}"), 404).get("code").asText());
        assertTrue(error(http.post("/v1/files", "{}"), 400).get("message").asText().contains("multipart"));
        assertEquals("job_not_found", error(http.get("/v1/fine_tuning/jobs/ftjob-nope"), 404).get("code").asText());
    }

    @Test
    void metricsAreThePrometheusTextOfTheEnginesMeters() throws Exception {
        http.post("/v1/completions", completion(""));
        HttpResponse<String> m = RawHttp.to(server).get("/metrics");
        assertEquals(200, m.statusCode());
        assertTrue(m.body().contains("flexllm_request_ttft_seconds"), m.body());
        assertTrue(m.body().contains("flexllm_kv_blocks_free"), m.body());
    }

    /** A server holding one generation refuses a second with 429 and Retry-After, until the first one's client leaves. */
    @Test
    void aFullServerAnswers429UntilAClientLeaves(@TempDir Path other) throws Exception {
        try (FlexLlmServer one = Servers.start(Servers.TINY, other, b -> b.maxPending(1))) {
            RawHttp raw = RawHttp.to(one);
            String body = "{\"model\":\"synthetic:tiny\",\"prompt\":\"abc\",\"max_tokens\":100000,\"ignore_eos\":true,"
                    + "\"stream\":true}";
            try (SseClient holder = SseClient.post(one.port(), "/v1/completions", body)) {
                assertTrue(holder.statusLine().contains("200"), holder.statusLine());
                assertNotNull(holder.next(), "the stream started");
                HttpResponse<String> refused = raw.post("/v1/completions", body);
                error(refused, 429);
                assertEquals("1", refused.headers().firstValue("Retry-After").orElseThrow());
            }
            Deadline.await(Duration.ofSeconds(30), () -> one.engine().freeKvBlocks() == one.engine().kvBlocks(),
                    () -> "the left client's KV blocks were freed");
            String small = "{\"model\":\"synthetic:tiny\",\"prompt\":\"abc\",\"max_tokens\":2}";
            Deadline.await(Duration.ofSeconds(30), () -> {
                try {
                    return raw.post("/v1/completions", small).statusCode() == 200;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, () -> "the server admits again");
        }
    }
}
