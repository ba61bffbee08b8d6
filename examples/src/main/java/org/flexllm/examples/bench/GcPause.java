package org.flexllm.examples.bench;

/**
 * One stop-the-world pause of a garbage collector.
 *
 * @param collector  the collector's name, as its {@code GarbageCollectorMXBean} gives it
 * @param heardNanos when its notification arrived, on {@link System#nanoTime()}'s clock: shortly after the pause
 *                   ended. (The pause's own start time is on a clock of the JVM's that neither
 *                   {@code System.nanoTime()} nor the runtime bean's uptime shares: it ran tens of milliseconds
 *                   behind the uptime.)
 * @param durationMs how long it lasted, in whole milliseconds (the JVM's resolution: sub-millisecond pauses,
 *                   ZGC's usual ones, read 0)
 */
public record GcPause(String collector, long heardNanos, long durationMs) {}
