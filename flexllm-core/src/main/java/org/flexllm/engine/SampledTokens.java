package org.flexllm.engine;

import java.util.Arrays;
import org.flexllm.sampling.SampledToken;

/**
 * The tokens sampled in one iteration, kept until the iteration is over and they are delivered: parallel
 * arrays the engine clears and refills every iteration instead of a record per token.
 */
final class SampledTokens {
    private Request[] requests;
    private int[] tokens;
    private SampledToken[] logprobs;
    private int size;

    /** @param capacity the tokens an iteration usually samples (its token budget); more grow the arrays */
    SampledTokens(int capacity) {
        requests = new Request[capacity];
        tokens = new int[capacity];
        logprobs = new SampledToken[capacity];
    }

    /** A token for {@code request}, with its log-probabilities or null. */
    void add(Request request, int token, SampledToken logprob) {
        if (size == tokens.length) {
            int grown = Math.max(1, 2 * size);
            requests = Arrays.copyOf(requests, grown);
            tokens = Arrays.copyOf(tokens, grown);
            logprobs = Arrays.copyOf(logprobs, grown);
        }
        requests[size] = request;
        tokens[size] = token;
        logprobs[size++] = logprob;
    }

    int size() {
        return size;
    }

    Request request(int i) {
        return requests[i];
    }

    int token(int i) {
        return tokens[i];
    }

    SampledToken logprob(int i) {
        return logprobs[i];
    }

    /** Forgets the tokens, and the requests they held on to. */
    void clear() {
        Arrays.fill(requests, 0, size, null);
        Arrays.fill(logprobs, 0, size, null);
        size = 0;
    }
}
