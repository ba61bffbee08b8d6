package org.flexllm.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.Timings;
import org.flexllm.schedule.LatencyModel;

/**
 * The engine's Micrometer meters: per request its queue time, TTFT, TPOT and end-to-end latency and whether
 * it met its SLO; per iteration its latency, the tokens of each kind it computed, the latency model's error, whether
 * it ran over its SLO limit, and whether a finetuning job waited for room; the latency model's margin and recent
 * error as gauges.
 */
final class EngineMetrics {
    private final MeterRegistry registry;
    private final Timer queue;
    private final Timer ttft;
    private final Timer tpot;
    private final Timer e2e;
    private final Timer iteration;
    private final Counter decodeTokens;
    private final Counter prefillTokens;
    private final Counter finetuneTokens;
    private final DistributionSummary modelError;
    private final Counter overLimit;
    private final Counter finetuneWaiting;

    /** Engines in this JVM: the latency model's gauges carry their engine's number (a gauge reads one engine). */
    private static final AtomicInteger ENGINES = new AtomicInteger();

    EngineMetrics(MeterRegistry registry, LatencyModel latency) {
        this.registry = registry;
        this.queue = timer("flexllm.request.queue", "submission to first scheduled");
        this.ttft = timer("flexllm.request.ttft", "time to first token");
        this.tpot = timer("flexllm.request.tpot", "mean time per output token after the first");
        this.e2e = timer("flexllm.request.e2e", "submission to last token");
        this.iteration = timer("flexllm.iteration", "one iteration of the engine loop");
        this.decodeTokens = tokens("decode");
        this.prefillTokens = tokens("prefill");
        this.finetuneTokens = tokens("finetune");
        this.modelError = DistributionSummary.builder("flexllm.latency_model.error")
                .description("|measured - predicted| / measured of each iteration").publishPercentiles(0.5, 0.9)
                .register(registry);
        this.overLimit = Counter.builder("flexllm.iterations.over_limit")
                .description("iterations that took longer than their requests' SLOs allowed").register(registry);
        this.finetuneWaiting = Counter.builder("flexllm.finetune.waiting")
                .description("job-iterations in which a finetuning job had work but none fit within the SLO limit")
                .register(registry);
        String engine = String.valueOf(ENGINES.incrementAndGet());
        Gauge.builder("flexllm.latency_model.margin", latency, l -> l.accuracy().margin()).tag("engine", engine)
                .description("what the scheduler multiplies predictions by: a high quantile of measured/predicted")
                .register(registry);
        Gauge.builder("flexllm.latency_model.error.p90", latency, l -> l.accuracy().p90Error()).tag("engine", engine)
                .description("p90 of |measured - predicted| / measured over recent iterations").register(registry);
    }

    private Timer timer(String name, String description) {
        return Timer.builder(name).description(description).publishPercentiles(0.5, 0.99).register(registry);
    }

    private Counter tokens(String kind) {
        return Counter.builder("flexllm.tokens").description("tokens computed by forward passes")
                .tag("kind", kind).register(registry);
    }

    void finished(GenerationResult r) {
        Timings t = r.timings();
        queue.record(millis(t.queueMs()));
        ttft.record(millis(t.ttftMs()));
        tpot.record(millis(t.tpotMs()));
        e2e.record(millis(t.e2eMs()));
        outcome(r.sloMet() ? "slo_met" : "slo_missed");
    }

    /** A request that ended without a result: {@code failed} or {@code cancelled}. */
    void outcome(String outcome) {
        registry.counter("flexllm.requests", "outcome", outcome).increment();
    }

    void iteration(IterationRecord r) {
        iteration.record(millis(r.measuredMs()));
        decodeTokens.increment(r.composition().decodeTokens());
        prefillTokens.increment(r.composition().prefillTokens());
        finetuneTokens.increment(r.composition().finetuneTokens());
        modelError.record(r.relativeError());
        if (r.overLimit()) {
            overLimit.increment();
        }
        if (r.finetuneWaiting() > 0) {
            finetuneWaiting.increment(r.finetuneWaiting());
        }
    }

    private static Duration millis(double ms) {
        return Duration.ofNanos(Math.round(ms * 1e6));
    }
}
