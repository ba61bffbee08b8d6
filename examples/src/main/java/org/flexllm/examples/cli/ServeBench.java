package org.flexllm.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.Prompt;
import org.flexllm.examples.bench.ScratchFolder;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.server.FlexLlmServer;

/**
 * {@code flexllm bench serve}: the HTTP server's serving overhead. The same workload (C clients, each streaming
 * {@link #REQUESTS_PER_CLIENT} greedy requests of P prompt and G generated tokens one after another) runs in-process
 * through the server's engine ({@code submit} with a token listener) and over HTTP through
 * {@code /v1/completions} with server-sent events, on the same engine, in rounds that alternate the order
 * (in-process first, then HTTP first) so that drift in a shared machine's speed hits both paths alike. Each
 * round pairs the two paths; the report gives the median of the pairs' throughput ratios and TTFT differences.
 * The clients run in the server's JVM, on the same cores. The process's CPU time per generated token, per path, shows
 * what the HTTP path costs in work, which other load on a shared machine disturbs far less than it does wall time.
 */
final class ServeBench {
    static final int REQUESTS_PER_CLIENT = 4;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final OperatingSystemMXBean CPU = ManagementFactory.getPlatformMXBean(OperatingSystemMXBean.class);

    private ServeBench() {}

    /**
     * One path's run: generated tokens per second over the wall time, the clients' p50 TTFT, and the process's CPU
     * time (every thread: engine, server, clients, JIT, GC) per generated token.
     */
    record PathRun(double tokensPerS, double ttftP50Ms, double cpuUsPerToken) {}

    /** The JSON output; per path, the median over the rounds. */
    record Report(String mode, String model, int cpus, int clients, int requestsPerClient, int promptLen,
                  int genLen, int warmup, int rounds, String statistic, double inProcessTokensPerS,
                  double httpTokensPerS, double inProcessTtftP50Ms, double httpTtftP50Ms, double throughputRatio,
                  double ttftP50OverheadMs, List<Double> roundThroughputRatios, List<Double> roundTtftOverheadsMs,
                  double inProcessCpuUsPerToken, double httpCpuUsPerToken, List<Double> roundCpuOverheadsUsPerToken) {
        String table() {
            return String.format("serve  %s  %d clients x %d requests, %d prompt + %d generated tokens, median of %d"
                            + " rounds%n  in-process: %.1f tokens/s, TTFT p50 %.2f ms%n  HTTP+SSE:   %.1f tokens/s,"
                            + " TTFT p50 %.2f ms%n  throughput ratio %.3f (rounds %s), TTFT p50 overhead %.2f ms"
                            + " (rounds %s)%n  CPU per token: in-process %.1f us, HTTP+SSE %.1f us (HTTP's extra per"
                            + " round %s us)",
                    model, clients, requestsPerClient, promptLen, genLen, rounds, inProcessTokensPerS,
                    inProcessTtftP50Ms, httpTokensPerS, httpTtftP50Ms, throughputRatio, rounded(roundThroughputRatios),
                    ttftP50OverheadMs, rounded(roundTtftOverheadsMs), inProcessCpuUsPerToken, httpCpuUsPerToken,
                    rounded(roundCpuOverheadsUsPerToken));
        }

        private static String rounded(List<Double> values) {
            return values.stream().map(v -> String.format("%.3f", v)).toList().toString();
        }
    }

    /** Starts a server on {@code model}, runs {@code warmup} untimed and {@code rounds} timed rounds. */
    static Report run(String model, int clients, int promptLen, int genLen, int warmup, int rounds)
            throws IOException, InterruptedException {
        try (ScratchFolder state = ScratchFolder.create("flexllm-bench-serve");
             FlexLlmServer server = FlexLlmServer.builder().model(model).port(0).stateDir(state.path()).start()) {
            int[] prompt = new SplittableRandom(0).ints(promptLen, 0, server.engine().config().vocabSize()).toArray();
            Workload w = new Workload(server, HttpClient.newHttpClient(), prompt, genLen);
            for (int i = 0; i < warmup; i++) {
                w.run(clients, true);
                w.run(clients, false);
            }
            List<PathRun> local = new ArrayList<>();
            List<PathRun> remote = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                boolean httpFirst = round % 2 == 1;
                PathRun first = w.run(clients, !httpFirst);
                PathRun second = w.run(clients, httpFirst);
                local.add(httpFirst ? second : first);
                remote.add(httpFirst ? first : second);
            }
            List<Double> ratios = new ArrayList<>();
            List<Double> overheads = new ArrayList<>();
            List<Double> cpuOverheads = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                ratios.add(remote.get(i).tokensPerS() / local.get(i).tokensPerS());
                overheads.add(remote.get(i).ttftP50Ms() - local.get(i).ttftP50Ms());
                cpuOverheads.add(remote.get(i).cpuUsPerToken() - local.get(i).cpuUsPerToken());
            }
            return new Report("serve", model, Runtime.getRuntime().availableProcessors(), clients,
                    REQUESTS_PER_CLIENT, promptLen, genLen, warmup, rounds, "median",
                    median(local.stream().map(PathRun::tokensPerS).toList()),
                    median(remote.stream().map(PathRun::tokensPerS).toList()),
                    median(local.stream().map(PathRun::ttftP50Ms).toList()),
                    median(remote.stream().map(PathRun::ttftP50Ms).toList()), median(ratios), median(overheads),
                    ratios, overheads, median(local.stream().map(PathRun::cpuUsPerToken).toList()),
                    median(remote.stream().map(PathRun::cpuUsPerToken).toList()), cpuOverheads);
        }
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The workload, on either path. */
    private record Workload(FlexLlmServer server, HttpClient http, int[] prompt, int genLen) {
        /** One request: its TTFT in milliseconds and the tokens it generated. */
        private record Outcome(double ttftMs, long tokens) {}

        PathRun run(int clients, boolean inProcess) throws InterruptedException {
            long start = System.nanoTime();
            long cpuStart = CPU.getProcessCpuTime();
            List<Future<List<Outcome>>> done = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < clients; c++) {
                    done.add(pool.submit(() -> {
                        List<Outcome> out = new ArrayList<>();
                        for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
                            out.add(inProcess ? local() : remote());
                        }
                        return out;
                    }));
                }
                List<Outcome> all = new ArrayList<>();
                for (Future<List<Outcome>> f : done) {
                    all.addAll(f.get());
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double cpuUs = (CPU.getProcessCpuTime() - cpuStart) / 1e3;
                double[] ttft = all.stream().mapToDouble(Outcome::ttftMs).sorted().toArray();
                long tokens = all.stream().mapToLong(Outcome::tokens).sum();
                return new PathRun(tokens / seconds, ttft[ttft.length / 2], cpuUs / tokens);
            } catch (ExecutionException e) {
                throw new IllegalStateException("a benchmark client failed: " + e.getCause(), e.getCause());
            }
        }

        private Outcome local() {
            long submitted = System.nanoTime();
            CompletableFuture<Long> first = new CompletableFuture<>();
            var result = server.engine().generate(new GenerationRequest(Prompt.ids(prompt), params(), e -> {
                if (e.index() == 0) {
                    first.complete(System.nanoTime());
                }
            }));
            return new Outcome((first.join() - submitted) / 1e6, result.ids().size());
        }

        private Outcome remote() throws IOException, InterruptedException {
            String body = JSON.writeValueAsString(Map.of("model", server.modelName(), "prompt", prompt,
                    "max_tokens", genLen, "temperature", 0, "ignore_eos", true, "stream", true,
                    "stream_options", Map.of("include_usage", true)));
            long submitted = System.nanoTime();
            HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofLines());
            if (r.statusCode() != 200) {
                throw new IOException("the server answered " + r.statusCode() + ": "
                        + String.join("\n", r.body().toList()));
            }
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
            return new Outcome(ttft, tokens);
        }

        private SamplingParams params() {
            return SamplingParams.builder().temperature(0).maxTokens(genLen).ignoreEos(true).build();
        }
    }
}
