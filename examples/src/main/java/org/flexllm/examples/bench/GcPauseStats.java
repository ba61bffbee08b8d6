package org.flexllm.examples.bench;

import java.util.List;
import java.util.Locale;

/**
 * The garbage collector's stop-the-world pauses during a run. Durations are whole milliseconds (the JVM's
 * resolution); p99 and max are 0 when there was no pause.
 *
 * @param collectors the JVM's pause collectors, comma-separated (which collector ran: G1, ZGC, ...)
 * @param count      pauses
 * @param p99Ms      99th percentile of their durations
 * @param maxMs      the longest
 */
public record GcPauseStats(String collectors, int count, double p99Ms, double maxMs) {
    /** The statistics of {@code pauses}, under {@code collectors}. */
    public static GcPauseStats of(String collectors, List<GcPause> pauses) {
        double[] ms = pauses.stream().mapToDouble(GcPause::durationMs).toArray();
        return new GcPauseStats(collectors, ms.length, ms.length == 0 ? 0 : Percentile.of(ms, 99),
                pauses.stream().mapToLong(GcPause::durationMs).max().orElse(0));
    }

    /** In words, for the report's table. */
    public String text() {
        return String.format(Locale.ROOT, "%d, p99 %.0f ms, max %.0f ms (%s)", count, p99Ms, maxMs, collectors);
    }
}
