package org.flexllm.examples.bench;

import java.util.List;
import java.util.Locale;

/**
 * The garbage collector's stop-the-world pauses during a run, and the heap allocation that makes it collect.
 * Durations are whole milliseconds (the JVM's resolution); p99 and max are 0 when there was no pause. A
 * concurrent collector's pauses are short, but its cycles take cores from the kernels while they run: on a
 * two-core machine an allocation rate of gigabytes per second (a kernel whose vectors are boxed) makes every
 * iteration's time noise.
 *
 * @param collectors       the JVM's pause collectors, comma-separated (which collector ran: G1, ZGC, ...)
 * @param count            pauses
 * @param p99Ms            99th percentile of their durations
 * @param maxMs            the longest
 * @param allocationMbPerS heap allocated by all threads during the run, per second of it (MB = 10⁶ bytes)
 */
public record GcPauseStats(String collectors, int count, double p99Ms, double maxMs, double allocationMbPerS) {
    /** The statistics of {@code pauses}, under {@code collectors}, beside {@code allocatedBytes} in {@code wallS}. */
    public static GcPauseStats of(String collectors, List<GcPause> pauses, long allocatedBytes, double wallS) {
        double[] ms = pauses.stream().mapToDouble(GcPause::durationMs).toArray();
        return new GcPauseStats(collectors, ms.length, ms.length == 0 ? 0 : Percentile.of(ms, 99),
                pauses.stream().mapToLong(GcPause::durationMs).max().orElse(0),
                wallS > 0 ? allocatedBytes / 1e6 / wallS : 0);
    }

    /** In words, for the report's table. */
    public String text() {
        return String.format(Locale.ROOT, "%d, p99 %.0f ms, max %.0f ms (%s); heap allocation %.1f MB/s", count,
                p99Ms, maxMs, collectors, allocationMbPerS);
    }
}
