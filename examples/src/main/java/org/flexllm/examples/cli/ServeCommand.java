package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.flexllm.api.Slo;
import org.flexllm.server.FlexLlmServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code flexllm serve}: an OpenAI-compatible HTTP server ({@link FlexLlmServer}) until interrupted; Ctrl-C or
 * SIGTERM shuts it down gracefully.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Serve a model over an OpenAI-compatible HTTP API: /v1/completions, /v1/chat/completions"
                + " (streaming with SSE), /v1/models, /v1/load_lora_adapter, /v1/unload_lora_adapter, the fine-tuning"
                + " API (/v1/files, /v1/fine_tuning/jobs: jobs train inside the serving iterations), /health and"
                + " /metrics (Prometheus).",
                "Ctrl-C stops it gracefully: requests in flight finish, running jobs are checkpointed and resume when"
                        + " the server starts again on the same --state-dir."})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    private BackendOption backend;

    @Spec
    private CommandSpec spec;

    @Mixin
    private SpeculationOptions speculation;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder, or synthetic:NAME (smollm-135m, llama-1b, llama-8b-2l, tiny).")
    private String model;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "The name requests use for the base model. Default: the folder's name, or synthetic:NAME.")
    private String servedName;

    @Option(names = "--adapter", paramLabel = "NAME=DIR",
            description = "A PEFT LoRA or IA3 adapter served under NAME; repeat for more.")
    private Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(names = "--host", paramLabel = "HOST", description = "The address to listen on.")
    private String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "PORT", description = "The port to listen on (0: any free port).")
    private int port = 8000;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Clients must send 'Authorization: Bearer KEY'"
            + " on /v1 routes (default: no key). The FLEXLLM_API_KEY variable is read when this is not given.")
    private String apiKey = System.getenv("FLEXLLM_API_KEY");

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Where uploaded files and fine-tuning jobs"
            + " are kept across restarts.")
    private Path stateDir = Path.of("flexllm-state");

    @Option(names = "--max-pending", paramLabel = "N", description = "Generations held at once, queued or running;"
            + " more are refused with 429 and Retry-After.")
    private int maxPending = 256;

    @Option(names = "--max-finetune-tokens", paramLabel = "N", description = "The longest fine-tuning sample;"
            + " longer ones are truncated.")
    private int maxFinetuneTokens = 512;

    @Option(names = "--slo-ttft-ms", paramLabel = "MS", description = "Time to first token of requests that bring no"
            + " 'slo' of their own.")
    private double ttftMs = 2000;

    @Option(names = "--slo-tpot-ms", paramLabel = "MS", description = "Time per output token of requests that bring"
            + " no 'slo' of their own.")
    private double tpotMs = 200;

    @Option(names = "--shutdown-grace-s", paramLabel = "S", description = "How long a shutdown waits for requests"
            + " in flight before cancelling them.")
    private long graceSeconds = 10;

    @Override
    public Integer call() throws InterruptedException {
        FlexLlmServer.Builder b = FlexLlmServer.builder().model(model).servedModelName(servedName).host(host)
                .port(port).apiKey(apiKey).stateDir(stateDir).maxPending(maxPending)
                .maxFinetuneTokens(maxFinetuneTokens).shutdownGrace(Duration.ofSeconds(graceSeconds))
                .engine(e -> {
                    e.slo(new Slo(ttftMs, tpotMs));
                    if (speculation.speculates()) {
                        e.speculation(speculation.factory());
                    }
                });
        adapters.forEach(b::adapter);
        PrintWriter err = spec.commandLine().getErr();
        try (FlexLlmServer server = b.start()) {
            Thread hook = Thread.ofPlatform().unstarted(server::close);
            Runtime.getRuntime().addShutdownHook(hook);
            err.printf("flexllm serve: %s on http://%s:%d/v1 (Ctrl-C to stop)%n", server.modelName(), host,
                    server.port());
            err.flush();
            try {
                server.awaitShutdown();
            } finally {
                removeHook(hook);
            }
        }
        return 0;
    }

    /** Stopped otherwise than by the JVM's shutdown (interrupted, in a test): the hook has nothing left to do. */
    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running: it is what stopped the server.
        }
    }
}
