package org.flexllm.server.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.flexllm.api.FinishReason;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.api.Timings;
import org.flexllm.api.TokenEvent;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

/**
 * A stream whose tokens were all generated before its HTTP thread wrote any (a client, or a thread, that fell
 * behind the engine): every token still arrives as its own well-formed chunk, in order, and what was queued together
 * leaves in one write.
 */
class StreamBatchingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TOKENS = 40;

    /** Whether each request the engine ran was cancelled, as its future ended. */
    private final List<Boolean> cancelled = new ArrayList<>();

    /** What reaches the socket: the bytes, and how many writes carried them. */
    private static final class Socket extends ByteArrayOutputStream {
        int writes;
        boolean broken;

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            writes++;
            if (broken) {
                throw new IllegalStateException("connection reset");
            }
            super.write(b, off, len);
        }
    }

    @Test
    void tokensQueuedWhileTheWriterWasBehindArriveAsOneChunkEachInOneWrite() throws Exception {
        Socket socket = new Socket();
        Choices choices = Choices.submit(engineAhead(true), List.of(request()), true);
        Generations.stream(envelope(), choices, sampling(), events(socket));

        String body = socket.toString(StandardCharsets.UTF_8);
        assertTrue(body.endsWith("\n\n"), body);
        List<String> events = List.of(body.substring(0, body.length() - 2).split("\n\n"));
        assertEquals(TOKENS + 3, events.size(), body); // tokens, the finish chunk, usage, [DONE]
        assertTrue(events.stream().allMatch(e -> e.startsWith("data: ")), body);
        for (int i = 0; i < TOKENS; i++) {
            JsonNode choice = data(events.get(i)).get("choices").get(0);
            assertEquals(" t" + i, choice.get("text").asText());
            assertTrue(choice.get("finish_reason").isNull());
        }
        assertEquals("length", data(events.get(TOKENS)).get("choices").get(0).get("finish_reason").asText());
        assertEquals(TOKENS, data(events.get(TOKENS + 1)).get("usage").get("completion_tokens").asInt());
        assertEquals("data: [DONE]", events.getLast());
        assertEquals(1, socket.writes);
    }

    @Test
    void aClientThatLeftHasItsChoiceCancelled() {
        Socket socket = new Socket();
        socket.broken = true;
        Choices choices = Choices.submit(engineAhead(false), List.of(request()), true);
        assertThrows(EventStream.ClientGoneException.class,
                () -> Generations.stream(envelope(), choices, sampling(), events(socket)));
        assertEquals(List.of(true), cancelled);
    }

    /**
     * An engine that generates every token of a request before returning from submit; the request then ends
     * ({@code finish}) or stays running.
     */
    private Function<GenerationRequest, CompletableFuture<GenerationResult>> engineAhead(boolean finish) {
        return request -> {
            for (int i = 0; i < TOKENS; i++) {
                request.listener().onToken(new TokenEvent(i, 100 + i, " t" + i, null, i == TOKENS - 1));
            }
            CompletableFuture<GenerationResult> running = new CompletableFuture<>();
            running.whenComplete((r, e) -> cancelled.add(running.isCancelled()));
            if (finish) {
                running.complete(new GenerationResult(List.of(1, 2), IntStream.range(100, 100 + TOKENS).boxed()
                        .toList(), "", FinishReason.LENGTH, List.of(), List.of(), new Timings(0, 0, 0, 0), 0,
                        new Slo(1000, 100)));
            }
            return running;
        };
    }

    private static EventStream events(OutputStream socket) {
        return new EventStream(new BufferedOutputStream(socket, 1 << 16));
    }

    private static GenerationRequest request() {
        return new GenerationRequest(Prompt.ids(new int[] {1, 2}), SamplingParams.builder().maxTokens(TOKENS).build(),
                null);
    }

    private static Sampling sampling() {
        return new Sampling("m", SamplingParams.builder().maxTokens(TOKENS).build(), null, 1, true, true);
    }

    private static Generations.Envelope envelope() {
        return new Generations.Envelope("cmpl-1", 0, "m", new CompletionDialect(new TokenText(null), false));
    }

    private static JsonNode data(String event) throws IOException {
        return JSON.readTree(event.substring("data: ".length()));
    }
}
