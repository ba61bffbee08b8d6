package org.flexllm.examples.bench;

import java.util.List;

/**
 * What a co-serving run measured.
 *
 * @param outcomes  every submitted request's, in order of arrival
 * @param finetune  the iterations that completed finetuning samples, in order
 * @param wallS     the run's wall time, from its start to the end of the grace period for the last requests
 */
public record CoserveRun(List<RequestOutcome> outcomes, List<FinetuneProgress> finetune, double wallS) {
    public CoserveRun {
        outcomes = List.copyOf(outcomes);
        finetune = List.copyOf(finetune);
    }

    /** Tokens of finetuning samples whose backward completed during the run. */
    public long finetuneTokens() {
        return finetune.stream().mapToLong(FinetuneProgress::tokens).sum();
    }
}
