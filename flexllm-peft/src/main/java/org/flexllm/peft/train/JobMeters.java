package org.flexllm.peft.train;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * A job's Micrometer meters, tagged {@code job=NAME}: {@code flexllm.finetune.loss} (the last step's loss),
 * {@code flexllm.finetune.steps} and {@code flexllm.finetune.tokens} (tokens of samples whose backward is done).
 * The counters add up over jobs of the same name; the gauge goes when its job ends, so that a later job of the
 * same name reports its own loss.
 */
final class JobMeters {
    private final MeterRegistry registry;
    private final Gauge loss;
    private final Counter steps;
    private final Counter tokens;
    private volatile double lastLoss = Double.NaN;

    JobMeters(MeterRegistry registry, String job) {
        Tags tags = Tags.of("job", job);
        this.registry = registry;
        this.loss = Gauge.builder("flexllm.finetune.loss", this, m -> m.lastLoss).tags(tags).strongReference(true)
                .description("the finetuning job's loss at its last optimizer step").register(registry);
        this.steps = Counter.builder("flexllm.finetune.steps").tags(tags).description("optimizer steps done")
                .register(registry);
        this.tokens = Counter.builder("flexllm.finetune.tokens").tags(tags)
                .description("tokens of the samples whose forward and backward are done").register(registry);
    }

    void sample(int length) {
        tokens.increment(length);
    }

    void step(StepRecord record) {
        lastLoss = record.loss();
        steps.increment();
    }

    /** Removes the loss gauge: the job no longer has a current loss. */
    void close() {
        registry.remove(loss);
    }
}
