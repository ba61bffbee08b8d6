package org.flexllm.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.server.FlexLlmServer;

/**
 * The serving overhead of the HTTP server: the same workload (C concurrent clients, each streaming R greedy
 * requests of P prompt tokens and G generated tokens one after another) run in-process through
 * {@link LlmEngine#submit} and over HTTP through {@code /v1/completions} with SSE, on the same engine, alternately
 * (in-process, HTTP, in-process, HTTP) so that drift in the machine's speed hits both. Prints one JSON object: per
 * path the generated tokens per second over the wall time and the p50 TTFT seen by the client, and their ratios.
 * <pre>
 * java ... org.flexllm.examples.ServeOverhead [MODEL [CLIENTS [REQUESTS [PROMPT_LEN [GEN_LEN]]]]]
 * </pre>
 */
public final class ServeOverhead {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ServeOverhead() {}

    /** One path's run: generated tokens, wall seconds, and each request's TTFT in milliseconds. */
    private record Run(long tokens, double seconds, double[] ttftMs) {
        double tokensPerSecond() {
            return tokens / seconds;
        }

        double p50() {
            double[] sorted = ttftMs.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length / 2];
        }
    }

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "synthetic:smollm-135m";
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int requests = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int promptLen = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        int genLen = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        try (FlexLlmServer server = FlexLlmServer.builder().model(model).port(0)
                .stateDir(Files.createTempDirectory("serve-overhead")).start()) {
            int[] prompt = new int[promptLen];
            Arrays.setAll(prompt, i -> 1 + (i * 7919) % (server.engine().config().vocabSize() - 1));
            HttpClient http = HttpClient.newHttpClient();
            Workload w = new Workload(server, http, prompt, genLen);
            w.inProcess(clients, 1);
            w.http(clients, 1);
            List<Run> local = new ArrayList<>();
            List<Run> remote = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                local.add(w.inProcess(clients, requests));
                remote.add(w.http(clients, requests));
            }
            Run l = best(local);
            Run r = best(remote);
            System.out.println(JSON.writeValueAsString(Map.of("model", model, "clients", clients, "requests_per_client",
                    requests, "prompt_len", promptLen, "gen_len", genLen,
                    "in_process", Map.of("tokens_per_s", l.tokensPerSecond(), "ttft_p50_ms", l.p50()),
                    "http", Map.of("tokens_per_s", r.tokensPerSecond(), "ttft_p50_ms", r.p50()),
                    "throughput_ratio", r.tokensPerSecond() / l.tokensPerSecond(),
                    "ttft_p50_overhead_ms", r.p50() - l.p50())));
        }
    }

    private static Run best(List<Run> runs) {
        return runs.stream().max((a, b) -> Double.compare(a.tokensPerSecond(), b.tokensPerSecond())).orElseThrow();
    }

    /** The workload, on either path. */
    private record Workload(FlexLlmServer server, HttpClient http, int[] prompt, int genLen) {
        Run inProcess(int clients, int requests) throws Exception {
            return run(clients, requests, this::local);
        }

        Run http(int clients, int requests) throws Exception {
            return run(clients, requests, this::remote);
        }

        /** One request; returns {TTFT ms, tokens}. */
        private interface Request {
            double[] call() throws Exception;
        }

        private Run run(int clients, int requests, Request request) throws Exception {
            long start = System.nanoTime();
            List<Future<List<double[]>>> done = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < clients; c++) {
                    done.add(pool.submit((Callable<List<double[]>>) () -> {
                        List<double[]> out = new ArrayList<>();
                        for (int i = 0; i < requests; i++) {
                            out.add(request.call());
                        }
                        return out;
                    }));
                }
                List<double[]> all = new ArrayList<>();
                for (Future<List<double[]>> f : done) {
                    all.addAll(f.get());
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                return new Run(all.stream().mapToLong(a -> (long) a[1]).sum(), seconds,
                        all.stream().mapToDouble(a -> a[0]).toArray());
            }
        }

        private double[] local() {
            long submitted = System.nanoTime();
            CompletableFuture<Long> first = new CompletableFuture<>();
            var result = server.engine().generate(new GenerationRequest(Prompt.ids(prompt), params(), e -> {
                if (e.index() == 0) {
                    first.complete(System.nanoTime());
                }
            }));
            return new double[] {(first.join() - submitted) / 1e6, result.ids().size()};
        }

        private double[] remote() throws Exception {
            String body = JSON.writeValueAsString(Map.of("model", server.modelName(), "prompt", prompt,
                    "max_tokens", genLen, "temperature", 0, "ignore_eos", true, "stream", true,
                    "stream_options", Map.of("include_usage", true)));
            long submitted = System.nanoTime();
            HttpResponse<java.util.stream.Stream<String>> r = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofLines());
            double ttft = -1;
            long tokens = 0;
            for (Iterator<String> lines = r.body().iterator(); lines.hasNext(); ) {
                String line = lines.next();
                if (!line.startsWith("data: {")) {
                    continue;
                }
                if (ttft < 0) {
                    ttft = (System.nanoTime() - submitted) / 1e6;
                }
                JsonNode usage = JSON.readTree(line.substring(6)).get("usage");
                if (usage != null && !usage.isNull()) {
                    tokens = usage.get("completion_tokens").asLong();
                }
            }
            return new double[] {ttft, tokens};
        }

        private SamplingParams params() {
            return SamplingParams.builder().temperature(0).maxTokens(genLen).ignoreEos(true).build();
        }
    }
}
