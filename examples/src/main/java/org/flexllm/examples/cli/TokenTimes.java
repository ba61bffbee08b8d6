package org.flexllm.examples.cli;

import java.util.Arrays;
import org.flexllm.api.TokenEvent;
import org.flexllm.api.TokenListener;

/**
 * When each token of one request was delivered ({@link System#nanoTime()}), recorded on the engine thread as the
 * tokens stream out; read once the request's future has completed.
 */
final class TokenTimes implements TokenListener {
    private final long[] nanos;
    private int count;

    TokenTimes(int maxTokens) {
        this.nanos = new long[maxTokens];
    }

    @Override
    public void onToken(TokenEvent event) {
        nanos[event.index()] = System.nanoTime();
        count = event.index() + 1;
    }

    long first() {
        return nanos[0];
    }

    long last() {
        return nanos[count - 1];
    }

    /** Tokens delivered after {@code time}. */
    long countAfter(long time) {
        return Arrays.stream(nanos, 0, count).filter(t -> t > time).count();
    }
}
