package org.flexllm.spec;

import org.flexllm.api.Slo;

/**
 * What AdaServe's selection knows about one running request in an iteration.
 *
 * @param candidates       the request's candidate tree in heap order ({@link TreeConstruction}); its root is
 *                         the request's decode token
 * @param slo              the request's latency targets; its TPOT sets the pace
 * @param emitted          the tokens the request has emitted so far, its first token included (at least 1)
 * @param sinceFirstMs     milliseconds since the request's first token
 */
public record SpecRequest(TokenTree candidates, Slo slo, int emitted, double sinceFirstMs) {
    public SpecRequest {
        if (candidates == null || slo == null) {
            throw new IllegalArgumentException("a speculating request needs its candidate tree and its SLO");
        }
        if (emitted < 1 || !(sinceFirstMs >= 0)) {
            throw new IllegalArgumentException("a speculating request has emitted its first token (emitted >= 1)"
                    + " and time since it is >= 0 ms; got emitted " + emitted + ", since first " + sinceFirstMs);
        }
    }

    /**
     * The tokens the request must emit in an iteration of {@code iterationMs} to stay on its schedule
     * {@code first + n·TPOT}: the tokens due by the end of the iteration minus those emitted. Zero or less when
     * it is ahead.
     */
    public int need(double iterationMs) {
        long due = (long) Math.floor((sinceFirstMs + iterationMs) / slo.tpotMs()) + 1;
        return Math.clamp(due - emitted, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }
}
