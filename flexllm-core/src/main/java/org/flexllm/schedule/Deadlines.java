package org.flexllm.schedule;

/**
 * A sequence's latency targets on the engine's clock.
 *
 * @param arrivalNanos when it was submitted
 * @param ttftNanos    its time-to-first-token target
 * @param tpotNanos    its time-per-output-token target
 */
public record Deadlines(long arrivalNanos, long ttftNanos, long tpotNanos) {
    /** No targets: never due. */
    public static final Deadlines NONE = new Deadlines(0, Long.MAX_VALUE / 2, Long.MAX_VALUE / 2);
}
