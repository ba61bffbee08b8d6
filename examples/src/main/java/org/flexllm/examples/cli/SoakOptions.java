package org.flexllm.examples.cli;

import org.flexllm.examples.soak.SoakConfig;
import picocli.CommandLine.Option;

/** The options of {@code flexllm bench soak} besides {@code --model}, {@code --seed} and {@code --json}. */
final class SoakOptions {
    @Option(names = "--requests", paramLabel = "N", defaultValue = "1000", description = "soak: requests in all.")
    private int requests;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "16", description = "soak: client threads.")
    private int threads;

    @Option(names = "--cancel-fraction", paramLabel = "F", defaultValue = "0.1",
            description = "soak: share of the requests cancelled at a random moment.")
    private double cancelFraction;

    @Option(names = "--adapters", paramLabel = "K", defaultValue = "4",
            description = "soak: LoRA adapters the requests spread over (besides the base model).")
    private int adapters;

    @Option(names = "--resident-adapters", paramLabel = "S", defaultValue = "2",
            description = "soak: adapter slots (fewer than --adapters, so that adapters are evicted and wait).")
    private int residentSlots;

    @Option(names = "--finetune", description = "soak: co-serve a LoRA job throughout (its first attempt diverges"
            + " to a NaN loss on purpose).")
    private boolean finetune;

    @Option(names = "--kv-cache-mb", paramLabel = "MB", defaultValue = "2",
            description = "soak: KV cache size; small, so that requests are preempted.")
    private int kvCacheMb;

    @Option(names = "--max-tokens", paramLabel = "G", defaultValue = "48",
            description = "soak: the most tokens a request generates (each draws 1..G).")
    private int maxTokens;

    SoakConfig config(String model, long seed) {
        return new SoakConfig(model, requests, threads, cancelFraction, adapters, residentSlots, finetune,
                (long) kvCacheMb << 20, maxTokens, seed);
    }
}
