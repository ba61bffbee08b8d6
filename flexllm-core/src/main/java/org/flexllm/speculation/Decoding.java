package org.flexllm.speculation;

import java.util.random.RandomGenerator;
import org.flexllm.api.Slo;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;

/** A decoding request as a speculator sees it: its tokens so far, how it samples, and its latency target. */
public interface Decoding {
    /** The engine's id of the request, stable for its life. */
    long id();

    /** Prompt and generated tokens; the last one is the root of the next tree. */
    int length();

    int token(int position);

    int promptLength();

    /** Tokens generated so far. */
    int generated();

    /** When its first token was emitted, on the engine clock; meaningless while {@link #generated()} is 0. */
    long firstTokenNanos();

    Slo slo();

    SamplingParams params();

    /** The ids it has seen (for the repetition penalty); a verifier must leave it unchanged. */
    TokenHistory history();

    /** The request's own generator: verification draws from it, so seeded requests stay reproducible. */
    RandomGenerator random();
}
