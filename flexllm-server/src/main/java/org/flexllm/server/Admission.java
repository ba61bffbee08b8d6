package org.flexllm.server;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the generations the server holds at once (queued in the engine or running), so that a burst is refused
 * with 429 and {@code Retry-After} at once instead of waiting unboundedly; and stops admitting when the server shuts
 * down, so that the requests in flight can finish.
 */
public final class Admission {
    /** What a refused client is told to wait: the engine turns over many requests a second. */
    private static final int RETRY_AFTER_SECONDS = 1;

    private final int capacity;
    private final Semaphore permits;
    private volatile boolean closed;

    public Admission(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("the server must admit at least one request, not " + capacity);
        }
        this.capacity = capacity;
        this.permits = new Semaphore(capacity);
    }

    /**
     * Takes room for {@code generations} requests; give it back with {@link #release}.
     *
     * @throws ApiError 429 when the server is full, 503 when it is shutting down
     */
    public void admit(int generations) {
        if (closed) {
            throw ApiError.unavailable("the server is shutting down");
        }
        if (generations > capacity) {
            throw ApiError.badRequest("the request asks for " + generations + " generations; this server holds at"
                    + " most " + capacity + " at once (--max-pending)", "n");
        }
        if (!permits.tryAcquire(generations)) {
            throw ApiError.tooManyRequests("the server holds " + capacity + " generations already (--max-pending);"
                    + " retry shortly", RETRY_AFTER_SECONDS);
        }
    }

    /** Generations admitted and not yet released. */
    public int inFlight() {
        return capacity - permits.availablePermits();
    }

    /** Gives back what {@link #admit} took. */
    public void release(int generations) {
        permits.release(generations);
    }

    /** Refuses new requests from now on and waits up to {@code grace} for those in flight; true when they ended. */
    public boolean closeAndDrain(Duration grace) throws InterruptedException {
        closed = true;
        if (!permits.tryAcquire(capacity, grace.toMillis(), TimeUnit.MILLISECONDS)) {
            return false;
        }
        permits.release(capacity);
        return true;
    }
}
