package org.flexllm.examples.cli;

import org.flexllm.api.EngineBuilder;
import org.flexllm.api.LlmEngine;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.schedule.Policy;
import picocli.CommandLine.Option;

/** {@code --tp N}: split the model over N tensor-parallel ranks, each a backend on a thread of its own. */
final class TensorParallelOption {
    @Option(names = "--tp", defaultValue = "1", paramLabel = "N",
            description = "Tensor-parallel ranks: each holds 1/N of the heads, MLP units and vocabulary, on a thread"
                    + " of its own; adapters and finetuning are split with them (`flexllm explain --tp N` prints the"
                    + " split).")
    private int ranks;

    int ranks() {
        return ranks;
    }

    EngineBuilder apply(EngineBuilder builder) {
        return builder.tensorParallel(ranks);
    }

    /** What to do with a started job; its result is {@link #train}'s. */
    interface WithJob<T> {
        T accept(FinetuneJob job) throws InterruptedException;
    }

    /**
     * Starts {@code finetuner}'s job on {@code model} and hands it to {@code then}: on one rank, on a thread of its
     * own; on several, co-served by an engine that only finetunes, whose loop drives the ranks (the engine and its
     * adapter registry, sized for a LoRA rank up to {@code loraRank} and samples up to {@code maxSeqLen} tokens, are
     * closed after the job).
     */
    <T> T train(String model, Finetuner finetuner, int loraRank, int maxSeqLen, WithJob<T> then)
            throws InterruptedException {
        if (ranks == 1) {
            try (FinetuneJob job = finetuner.model(model).start()) {
                return then.accept(job);
            }
        }
        // Two samples are in flight at most (one forward, one backward): the KV cache holds two full contexts.
        try (AdapterRegistry registry = AdapterRegistry.create(1, Math.max(1, loraRank));
             LlmEngine engine = apply(LlmEngine.builder().model(model)).adapters(registry)
                     .policy(Policy.FINETUNE_ONLY).maxFinetuneTokens(maxSeqLen).maxSequences(2).build();
             FinetuneJob job = finetuner.coServe(engine, registry).start()) {
            return then.accept(job);
        }
    }
}
