package org.flexllm.server;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.LlmEngine;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.server.finetune.FineTuning;
import org.flexllm.server.finetune.FineTuningRoutes;
import org.flexllm.server.openai.OpenAiRoutes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An OpenAI-compatible HTTP server over an in-process co-serving engine: completions and chat (streamed or not),
 * models and LoRA adapters, a fine-tuning API whose jobs train inside the serving iterations, {@code /health} and
 * Prometheus {@code /metrics}.
 * <pre>{@code
 * try (FlexLlmServer server = FlexLlmServer.builder().model("path/to/hf-model").port(8000).start()) {
 *     server.awaitShutdown();
 * }
 * }</pre>
 * Closing it shuts down gracefully: it stops admitting requests, lets those in flight finish (up to the grace
 * period, then cancels them), checkpoints running fine-tuning jobs so that the next server on the same state folder
 * resumes them, and stops the engine.
 */
public final class FlexLlmServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlexLlmServer.class);

    private final LlmEngine engine;
    private final AdapterRegistry registry;
    private final PrometheusMeterRegistry meters;
    private final Models models;
    private final Admission admission;
    private final FineTuning fineTuning;
    private final WebServer web;
    private final Duration grace;
    private final Object closeLock = new Object();
    private boolean closed;

    private FlexLlmServer(Builder b, LlmEngine engine, AdapterRegistry registry, PrometheusMeterRegistry meters) {
        this.engine = engine;
        this.registry = registry;
        this.meters = meters;
        this.grace = b.shutdownGrace;
        this.models = new Models(b.servedModelName != null ? b.servedModelName : defaultName(b.model), registry);
        this.admission = new Admission(b.maxPending);
        this.fineTuning = FineTuning.open(b.stateDir, engine, models, b.maxFinetuneTokens);
        Gauge.builder("flexllm.kv.blocks.free", engine, LlmEngine::freeKvBlocks)
                .description("KV-cache blocks held by no request or finetuning sample").register(meters);
        Gauge.builder("flexllm.server.pending", admission, Admission::inFlight)
                .description("generations admitted and not yet answered").register(meters);
        ApiKey key = new ApiKey(b.apiKey);
        HttpRouting.Builder routing = HttpRouting.builder();
        routing.get("/health", (req, res) -> res.send("ok"));
        routing.get("/metrics", (req, res) -> {
            res.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            res.send(meters.scrape());
        });
        new ModelRoutes(models).register(routing, key);
        new OpenAiRoutes(engine, models, admission).register(routing, key);
        new FineTuningRoutes(fineTuning).register(routing, key);
        // TCP_NODELAY: a stream's events are small writes, one per token; with Nagle's algorithm one waits for the
        // client's delayed ACK of the one before (some 40 ms on Linux), which would add that to every TTFT.
        this.web = WebServer.builder().host(b.host).port(b.port).routing(routing)
                .connectionOptions(o -> o.tcpNoDelay(true)).maxPayloadSize(b.maxUploadBytes).shutdownHook(false)
                .build().start();
        fineTuning.resumeJobs();
        LOG.info("serving {} on http://{}:{}", models.names(), b.host, web.port());
    }

    /** A builder; {@link Builder#model} is the one required setting. */
    public static Builder builder() {
        return new Builder();
    }

    /** The port it listens on (the one chosen by the system when started with port 0). */
    public int port() {
        return web.port();
    }

    /** The engine requests run on; the server closes it. */
    public LlmEngine engine() {
        return engine;
    }

    /** The adapters requests may name, fine-tuned models among them. */
    public AdapterRegistry adapters() {
        return registry;
    }

    /** The name requests use for the base model. */
    public String modelName() {
        return models.baseName();
    }

    /** The fine-tuning jobs and uploaded files. */
    public FineTuning fineTuning() {
        return fineTuning;
    }

    /** Blocks until the JVM is interrupted or the server is closed from another thread. */
    public void awaitShutdown() throws InterruptedException {
        synchronized (closeLock) {
            while (!closed) {
                closeLock.wait();
            }
        }
    }

    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
            closeLock.notifyAll();
        }
        try {
            if (!admission.closeAndDrain(grace)) {
                LOG.warn("requests still running after {}; cancelling them", grace);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        fineTuning.close();
        engine.close();
        web.stop();
        registry.close();
        meters.close();
    }

    private static String defaultName(String model) {
        if (model.startsWith(EngineBuilder.SYNTHETIC)) {
            return model;
        }
        Path name = Path.of(model).toAbsolutePath().normalize().getFileName();
        return name == null ? model : name.toString();
    }

    /** Configures and starts a {@link FlexLlmServer}. */
    public static final class Builder {
        private String model;
        private String servedModelName;
        private final Map<String, Path> adapters = new LinkedHashMap<>();
        private String host = "127.0.0.1";
        private int port = 8000;
        private String apiKey;
        private Path stateDir = Path.of("flexllm-state");
        private int maxPending = 256;
        private int maxResidentAdapters = 8;
        private int maxAdapterRank = 64;
        private int maxFinetuneTokens = 512;
        private long maxUploadBytes = 512L << 20;
        private Duration shutdownGrace = Duration.ofSeconds(10);
        private Consumer<EngineBuilder> engineSettings = b -> {};

        private Builder() {}

        /** A Hugging Face model folder, or {@code synthetic:NAME}. */
        public Builder model(String model) { this.model = model; return this; }
        /** The name requests use for the base model (default the folder's name, or {@code synthetic:NAME}). */
        public Builder servedModelName(String name) { this.servedModelName = name; return this; }
        /** An adapter served from the start under {@code name}. */
        public Builder adapter(String name, Path folder) { adapters.put(name, folder); return this; }
        /** The address to listen on (default 127.0.0.1). */
        public Builder host(String host) { this.host = Objects.requireNonNull(host, "host"); return this; }
        /** The port (default 8000; 0 picks a free one). */
        public Builder port(int port) { this.port = port; return this; }
        /** The key clients must send as a bearer token on /v1 (default none). */
        public Builder apiKey(String key) { this.apiKey = key; return this; }
        /** Where uploaded files and fine-tuning jobs are kept across restarts (default ./flexllm-state). */
        public Builder stateDir(Path dir) { this.stateDir = Objects.requireNonNull(dir, "dir"); return this; }
        /** The most generations held at once, queued or running; more are refused with 429 (default 256). */
        public Builder maxPending(int generations) { this.maxPending = generations; return this; }
        /** Adapters resident at once (default 8), and their largest LoRA rank (default 64). */
        public Builder adapterSlots(int resident, int maxRank) {
            this.maxResidentAdapters = resident;
            this.maxAdapterRank = maxRank;
            return this;
        }
        /** The longest fine-tuning sample, in tokens (default 512); longer ones are truncated. */
        public Builder maxFinetuneTokens(int tokens) { this.maxFinetuneTokens = tokens; return this; }
        /** How long closing waits for requests in flight before cancelling them (default 10 s). */
        public Builder shutdownGrace(Duration grace) { this.shutdownGrace = Objects.requireNonNull(grace); return this; }
        /** Further engine settings (token budget, KV cache, SLO, ...), applied before the server's own. */
        public Builder engine(Consumer<EngineBuilder> settings) { this.engineSettings = Objects.requireNonNull(settings); return this; }

        /**
         * Loads the model, registers the adapters, starts the engine and the HTTP listener, and resumes the
         * fine-tuning jobs a previous server left running in the state folder.
         */
        public FlexLlmServer start() {
            if (model == null) {
                throw new IllegalStateException("no model: call model(folder) or model(\"synthetic:NAME\")");
            }
            PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            AdapterRegistry registry = AdapterRegistry.create(maxResidentAdapters, maxAdapterRank);
            LlmEngine engine = null;
            try {
                EngineBuilder eb = LlmEngine.builder().model(model);
                engineSettings.accept(eb);
                engine = eb.adapters(registry).meterRegistry(meters).maxFinetuneTokens(maxFinetuneTokens).build();
                for (Map.Entry<String, Path> a : adapters.entrySet()) {
                    registry.register(a.getKey(), a.getValue());
                }
                return new FlexLlmServer(this, engine, registry, meters);
            } catch (RuntimeException e) {
                if (engine != null) {
                    engine.close();
                }
                registry.close();
                meters.close();
                throw e;
            }
        }
    }
}
