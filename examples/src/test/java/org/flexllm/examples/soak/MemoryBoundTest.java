package org.flexllm.examples.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The soak's memory bound on given Native Memory Tracking snapshots: native memory that requests, adapters and jobs
 * allocate (arenas under "Other", thread stacks, anything untagged) must end within 5% of where it started after
 * warm-up; the JVM's machinery (compiled code, compilers, collector, class metadata) is reported, not judged.
 * Figures in KB, growths worked out by hand.
 */
class MemoryBoundTest {
    private static final double SLACK = 0.05;

    /** After warm-up, in KB: judged Thread 3,000 + Other 16,800 + Internal 200 = 20,000; machinery 62,000. */
    private static final Map<String, Long> START = kb(Map.of("Java Heap", 1_048_576L, "Thread", 3_000L,
            "Other", 16_800L, "Internal", 200L, "Code", 20_000L, "GC", 40_000L, "Class", 1_000L, "Compiler", 1_000L));

    @Test
    void jitWarmUpAloneKeepsTheBound() {
        // The 1,000-request soak's shape: compiled code +5.0 MB, GC +1.8 MB, class metadata +0.7 MB, a compilation's
        // arenas +29 MB, FFM arenas flat; the previous bound (all but the heap and the compilers) read 9.3% here.
        Map<String, Long> end = with(START, Map.of("Code", 25_000L, "GC", 41_800L, "Class", 1_700L, "Compiler",
                30_000L));
        SoakReport report = report(START, end);
        assertEquals(0.0, report.nativeGrowth());
        assertEquals(36_500 / 62_000.0, report.machineryGrowth(), 1e-12);
        assertTrue(report.clean(SLACK), report.toString());
    }

    @Test
    void anArenaLeftOpenBreaksTheBound() {
        // Other +1,200 KB: 1,200 / 20,000 = 6%.
        SoakReport report = report(START, with(START, Map.of("Other", 18_000L)));
        assertEquals(0.06, report.nativeGrowth(), 1e-12);
        assertFalse(report.clean(SLACK), report.toString());
    }

    @Test
    void threadStacksAndCategoriesTheJvmAddsAreJudged() {
        // Thread +500 KB and an "Unknown" category of 500 KB appearing: 1,000 / 20,000 = 5%, the bound's edge.
        SoakReport atEdge = report(START, with(START, Map.of("Thread", 3_500L, "Unknown", 500L)));
        assertEquals(0.05, atEdge.nativeGrowth(), 1e-12);
        assertTrue(atEdge.clean(SLACK));
        SoakReport past = report(START, with(START, Map.of("Thread", 3_504L, "Unknown", 500L)));
        assertFalse(past.clean(SLACK), past.toString());
    }

    @Test
    void arenasThatShrinkKeepTheBound() {
        // The job's tensors are freed when it stops before the end figures: Other −170 KB.
        SoakReport report = report(START, with(START, Map.of("Other", 16_630L)));
        assertEquals(-170 / 20_000.0, report.nativeGrowth(), 1e-12);
        assertTrue(report.clean(SLACK));
    }

    private static SoakReport report(Map<String, Long> start, Map<String, Long> end) {
        SoakConfig config = new SoakConfig("synthetic:tiny", 1, 1, 0, 0, 1, false, 1 << 20, 1, 1);
        return SoakReport.of(config, List.of(), 0, Resources.of(0, start, -1, List.of()),
                Resources.of(0, end, -1, List.of()), 8, 8, 0, JobOutcomes.NONE);
    }

    private static Map<String, Long> with(Map<String, Long> start, Map<String, Long> changedKb) {
        Map<String, Long> end = new java.util.HashMap<>(start);
        end.putAll(kb(changedKb));
        return end;
    }

    private static Map<String, Long> kb(Map<String, Long> kb) {
        Map<String, Long> bytes = new java.util.HashMap<>();
        kb.forEach((category, value) -> bytes.put(category, value * 1024));
        return bytes;
    }
}
