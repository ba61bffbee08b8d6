package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.TokenEvent;
import org.flexllm.api.TokenListener;
import org.flexllm.sampling.SamplingParams;

/**
 * Inference requests on the base model, a few in flight at a time: whenever one ends another starts, until told
 * to stop. Their text is printed as it is generated, a line every few tokens, marked {@code [n]} for request n.
 */
final class RequestStream {
    private static final List<String> PROMPTS = List.of("Once upon a time", "The capital of France is",
            "def fibonacci(n):", "Roses are red,", "In 1969, the first", "Dear diary, today");
    /** Tokens per printed line: a line per token would scroll the finetuning progress away. */
    private static final int LINE_TOKENS = 8;

    private final LlmEngine engine;
    private final int inFlight;
    private final int maxTokens;
    private final PrintWriter out;

    /**
     * @param inFlight  requests running at once
     * @param maxTokens tokens the longest requests generate; others half or three quarters of that
     */
    RequestStream(LlmEngine engine, int inFlight, int maxTokens, PrintWriter out) {
        this.engine = engine;
        this.inFlight = inFlight;
        this.maxTokens = maxTokens;
        this.out = out;
    }

    /** Keeps requests coming until {@code stop} completes, then waits for those running; their results in order. */
    List<GenerationResult> runUntil(CompletableFuture<?> stop) {
        List<CompletableFuture<GenerationResult>> submitted = new ArrayList<>();
        List<CompletableFuture<GenerationResult>> running = new ArrayList<>();
        while (!stop.isDone()) {
            while (running.size() < inFlight) {
                CompletableFuture<GenerationResult> f = engine.submit(request(submitted.size() + 1));
                submitted.add(f);
                running.add(f);
            }
            CompletableFuture.anyOf(stop, CompletableFuture.anyOf(running.toArray(CompletableFuture[]::new))).join();
            running.removeIf(CompletableFuture::isDone);
        }
        return submitted.stream().map(CompletableFuture::join).toList();
    }

    private GenerationRequest request(int n) {
        // Lengths vary so that requests end, and new ones start, at different iterations.
        int tokens = Math.max(1, maxTokens - (n % 3) * maxTokens / 4);
        SamplingParams params = SamplingParams.builder().maxTokens(tokens).seed(n).build();
        return new GenerationRequest(Prompt.text(PROMPTS.get((n - 1) % PROMPTS.size())), params, new Lines(n));
    }

    /** Prints one request's text a line at a time; called on the engine thread, one token after the other. */
    private final class Lines implements TokenListener {
        private final int n;
        private final StringBuilder line = new StringBuilder();

        Lines(int n) {
            this.n = n;
        }

        @Override
        public void onToken(TokenEvent event) {
            line.append(event.text());
            if (event.last() || (event.index() + 1) % LINE_TOKENS == 0) {
                out.printf("[%d] %s%s%n", n, escape(line.toString()), event.last() ? "  (done)" : "");
                out.flush();
                line.setLength(0);
            }
        }
    }

    /**
     * The text with control, format and lone surrogate characters written as {@code \\u} escapes of four hex
     * digits, safe for a terminal.
     */
    static String escape(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().forEach(cp -> {
            int type = Character.getType(cp);
            if (type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.toString();
    }
}
