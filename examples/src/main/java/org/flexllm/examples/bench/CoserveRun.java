package org.flexllm.examples.bench;

import java.util.List;

/**
 * What a co-serving run measured.
 *
 * @param outcomes   every submitted request's, in order of arrival
 * @param finetune   the iterations that completed finetuning samples, in order
 * @param iterations every iteration's predicted, measured and allowed latency, in order
 * @param gcPauses   the garbage collector's pauses during the run
 * @param wallS      the run's wall time, from its start to the end of the grace period for the last requests
 * @param speculation what speculative decoding did during the run ({@link SpecCounts#NONE} without it)
 * @param allocatedBytes heap allocated by all threads of the JVM during the run
 */
public record CoserveRun(List<RequestOutcome> outcomes, List<FinetuneProgress> finetune,
                         List<IterationTiming> iterations, List<GcPause> gcPauses, double wallS,
                         SpecCounts speculation, long allocatedBytes) {
    public CoserveRun {
        outcomes = List.copyOf(outcomes);
        finetune = List.copyOf(finetune);
        iterations = List.copyOf(iterations);
        gcPauses = List.copyOf(gcPauses);
    }

    /** A run of which only the requests and the finetuning progress are known (no iterations, no pauses). */
    public CoserveRun(List<RequestOutcome> outcomes, List<FinetuneProgress> finetune, double wallS) {
        this(outcomes, finetune, List.of(), List.of(), wallS, SpecCounts.NONE, 0);
    }

    /** Tokens of finetuning samples whose backward completed during the run. */
    public long finetuneTokens() {
        return finetune.stream().mapToLong(FinetuneProgress::tokens).sum();
    }
}
