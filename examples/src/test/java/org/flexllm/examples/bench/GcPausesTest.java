package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.GarbageCollectorMXBean;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class GcPausesTest {
    @Test
    void statisticsOfPauses() {
        var stats = GcPauseStats.of("G1 Young Generation", List.of(new GcPause("G1 Young Generation", 10, 4),
                new GcPause("G1 Young Generation", 20, 40), new GcPause("G1 Old Generation", 30, 2)), 3_000_000_000L,
                2);
        assertEquals(3, stats.count());
        assertEquals(40, stats.maxMs());
        assertEquals(4 + 0.98 * 36, stats.p99Ms(), 1e-9);
        assertEquals(1500, stats.allocationMbPerS(), 1e-9, "3 GB in 2 s");
        assertEquals(new GcPauseStats("ZGC Minor Pauses", 0, 0, 0, 0),
                GcPauseStats.of("ZGC Minor Pauses", List.of(), 0, 5));
    }

    @Test
    void cycleCollectorsAreNotPauseCollectors() {
        List<String> names = GcPauses.pauseCollectors().stream().map(GarbageCollectorMXBean::getName).toList();
        assertFalse(names.isEmpty());
        assertTrue(names.stream().noneMatch(n -> n.endsWith("Cycles")), names.toString());
    }

    /** Whatever collector the test runs under: System.gc() pauses it (ZGC's pauses take 0 whole ms). */
    @Test
    @Timeout(60)
    void hearsTheCollectorsPauses() throws InterruptedException {
        try (GcPauses gc = GcPauses.listen()) {
            long from = System.nanoTime();
            System.gc();
            // Notifications come on a service thread, soon after the pause: wait for them, not for a time.
            while (gc.between(from, Long.MAX_VALUE).isEmpty()) {
                Thread.sleep(10);
            }
            assertTrue(gc.between(from, System.nanoTime()).stream().allMatch(p -> p.durationMs() >= 0),
                    gc.between(from, System.nanoTime()).toString());
        }
    }
}
