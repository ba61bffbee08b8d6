package org.flexllm.examples.soak;

import java.util.List;
import java.util.concurrent.CancellationException;

/**
 * How one soak request ended: completed (with how many tokens its consumer saw that its result lacks, and the
 * other way round), cancelled, failed (with the reason), or refused at submission.
 */
record SoakOutcome(Kind kind, String reason, int lostTokens, int duplicatedTokens) {
    enum Kind { COMPLETED, CANCELLED, FAILED, REFUSED }

    /**
     * A completed request whose consumer saw {@code seen}: a token of the result it did not see is lost, one it
     * saw beyond the result (or out of place) duplicated.
     */
    static SoakOutcome completed(List<Integer> result, List<Integer> seen) {
        int common = 0;
        while (common < Math.min(result.size(), seen.size()) && result.get(common).equals(seen.get(common))) {
            common++;
        }
        return new SoakOutcome(Kind.COMPLETED, "", result.size() - common, seen.size() - common);
    }

    /** A stream that completed without its last event, or with events out of order. */
    static SoakOutcome streamBroken(int seen, int outOfOrder, boolean last) {
        return new SoakOutcome(Kind.COMPLETED, "stream ended " + (last ? "" : "without its last event ")
                + "after " + seen + " events, " + outOfOrder + " out of order", last ? 0 : 1, outOfOrder);
    }

    static SoakOutcome ended(Throwable error) {
        return error instanceof CancellationException ? new SoakOutcome(Kind.CANCELLED, "", 0, 0)
                : new SoakOutcome(Kind.FAILED, describe(error), 0, 0);
    }

    static SoakOutcome refused(RuntimeException error) {
        return new SoakOutcome(Kind.REFUSED, describe(error), 0, 0);
    }

    private static String describe(Throwable error) {
        return error.getClass().getSimpleName() + ": " + error.getMessage();
    }
}
