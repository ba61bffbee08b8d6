package org.flexllm.examples.soak;

/**
 * One soak run: {@code requests} requests from {@code threads} client threads on {@code model}, a share
 * {@code cancelFraction} of them cancelled at a random moment, spread over {@code adapters} LoRA adapters served
 * from {@code residentSlots} slots (plus the base model), with a KV cache of {@code kvCacheBytes} (small enough to
 * preempt), and, when {@code finetune}, a co-served LoRA job throughout whose first attempt diverges to a NaN loss.
 */
public record SoakConfig(String model, int requests, int threads, double cancelFraction, int adapters,
                         int residentSlots, boolean finetune, long kvCacheBytes, int maxTokens, long seed) {
    public SoakConfig {
        if (requests < 1 || threads < 1 || adapters < 0 || residentSlots < 1 || maxTokens < 1) {
            throw new IllegalArgumentException("a soak needs at least one request, thread, slot and token");
        }
        if (finetune && adapters > 0 && residentSlots < 2) {
            throw new IllegalArgumentException("a co-served job holds an adapter slot for as long as it trains:"
                    + " give the adapters at least one more (--resident-adapters 2 or more)");
        }
        if (cancelFraction < 0 || cancelFraction > 1) {
            throw new IllegalArgumentException("--cancel-fraction is a share in [0, 1], was " + cancelFraction);
        }
    }
}
