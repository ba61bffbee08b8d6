package org.flexllm.examples.cli;

import java.util.function.Consumer;
import org.flexllm.engine.IterationRecord;
import org.flexllm.schedule.Composition;

/**
 * Counts what the engine's iterations did: how many ran, how many carried inference and finetuning work together,
 * and the tokens of finetuning samples they completed. Written on the engine thread only, read by others.
 */
final class IterationTally implements Consumer<IterationRecord> {
    private volatile long iterations;
    private volatile long mixed;
    private volatile long finetuneTokens;

    @Override
    public void accept(IterationRecord r) {
        Composition c = r.composition();
        boolean inference = c.decodeTokens() + c.prefillTokens() > 0;
        boolean finetuning = c.finetuneTokens() > 0 || c.backwardLayerTokens() > 0;
        iterations++;
        mixed += inference && finetuning ? 1 : 0;
        finetuneTokens += r.finetuneCompleted();
    }

    long iterations() {
        return iterations;
    }

    /** Iterations that computed inference tokens and finetuning work in the same pass. */
    long mixed() {
        return mixed;
    }

    /** Tokens of finetuning samples whose backward completed. */
    long finetuneTokens() {
        return finetuneTokens;
    }
}
