package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.function.ToDoubleFunction;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.TokenEvent;
import org.flexllm.sampling.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code flexllm demo}: several requests served at once, streamed as they are generated, then their latencies. */
@Command(name = "demo", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Co-serving demo: several requests at once, streamed, then their TTFT and TPOT.",
                "Every iteration of the engine batches the tokens of all running requests. Each token's text is"
                        + " printed as it arrives, marked [n] for request n; a table of time to first token (TTFT)"
                        + " and time per output token (TPOT) follows.",
                "The default model has random weights (no download), so its text is noise; control characters are"
                        + " printed escaped."})
final class DemoCommand implements Callable<Integer> {
    private static final List<String> PROMPTS = List.of("Once upon a time", "The capital of France is",
            "def fibonacci(n):", "Roses are red,", "In 1969, the first", "Dear diary, today");
    /** Context room for the prompt, beyond the generated tokens: the prompts above are short. */
    private static final int PROMPT_ROOM = 128;

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", defaultValue = "synthetic:smollm-135m", paramLabel = "DIR",
            description = "A Hugging Face model folder, or synthetic:NAME (smollm-135m, llama-1b, llama-8b-2l, tiny).")
    private String model;

    @Option(names = "--requests", defaultValue = "5", paramLabel = "N", description = "Concurrent requests.")
    private int requests;

    @Option(names = "--max-tokens", defaultValue = "24", paramLabel = "T",
            description = "Tokens of the longest request; request n of N generates T*n/N, so they finish in turn.")
    private int maxTokens;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("Loading " + model + " ...");
        out.flush();
        try (LlmEngine engine = LlmEngine.builder().model(model).maxSequences(requests)
                .maxModelLen(PROMPT_ROOM + maxTokens).build()) {
            out.printf("Serving %d requests at once on the %s backend; [n] marks request n's tokens.%n",
                    requests, engine.backend());
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int n = 1; n <= requests; n++) {
                futures.add(engine.submit(request(n, out)));
            }
            printTable(out, futures.stream().map(CompletableFuture::join).toList());
        }
        out.flush();
        return 0;
    }

    private GenerationRequest request(int n, PrintWriter out) {
        SamplingParams params = SamplingParams.builder()
                .maxTokens(Math.max(1, maxTokens * n / requests)).seed(n).build();
        return new GenerationRequest(Prompt.text(prompt(n)), params, event -> printChunk(out, n, event));
    }

    private static String prompt(int n) {
        return PROMPTS.get((n - 1) % PROMPTS.size());
    }

    private static void printChunk(PrintWriter out, int n, TokenEvent event) {
        if (!event.text().isEmpty() || event.last()) {
            out.printf("[%d] %s%s%n", n, escape(event.text()), event.last() ? "  (done)" : "");
            out.flush();
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

    private void printTable(PrintWriter out, List<GenerationResult> results) {
        out.println();
        out.printf("%-8s %7s %7s %7s %10s %10s  %s%n", "request", "prompt", "output", "finish", "TTFT ms",
                "TPOT ms", "prompt text");
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            out.printf("%-8d %7d %7d %7s %10.1f %10.1f  %s%n", i + 1, r.promptIds().size(), r.ids().size(),
                    r.finishReason().label(), r.timings().ttftMs(), r.timings().tpotMs(), prompt(i + 1));
        }
        out.printf("%-8s %7s %7s %7s %10.1f %10.1f%n", "p50", "", "", "",
                median(results, r -> r.timings().ttftMs()), median(results, r -> r.timings().tpotMs()));
    }

    private static double median(List<GenerationResult> results, ToDoubleFunction<GenerationResult> value) {
        double[] v = results.stream().mapToDouble(value).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
