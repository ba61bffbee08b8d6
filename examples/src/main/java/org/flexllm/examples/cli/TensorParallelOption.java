package org.flexllm.examples.cli;

import org.flexllm.api.EngineBuilder;
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
}
