package org.flexllm.examples.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Native Memory Tracking's summary, read in this JVM (the module's tests run with it on) and parsed. */
class NativeMemoryTest {
    private static final long MIB = 1 << 20;

    /** An excerpt of {@code jcmd PID VM.native_memory summary} on JDK 25, its figures in KB. */
    private static final String SUMMARY = """
            Native Memory Tracking:

            (Omitting categories weighting less than 1KB)

            Total: reserved=1661384KB, committed=127312KB
                   malloc: 26440KB #53051, peak=31229KB #55807
                   mmap:   reserved=1634944KB, committed=100872KB

            -                 Java Heap (reserved=262144KB, committed=65536KB)
                                        (mmap: reserved=262144KB, committed=65536KB, at peak)

            -                     Class (reserved=1048955KB, committed=571KB)
                                        (classes #1214)
                                        (  instance classes #1080, array classes #134)

            -                    Thread (reserved=21554KB, committed=1102KB)
                                        (threads #21)

            -                  Compiler (reserved=30720KB, committed=30720KB)
                                        (malloc=1210KB tag=Compiler #1021) (peak=1290KB #1024)
                                        (arena=29510KB #8) (peak=31021KB #9)

            -                     Other (reserved=4104KB, committed=4104KB)
                                        (malloc=4104KB #12) (peak=4104KB #13)
            """;

    @Test
    void aSummaryGivesCommittedBytesByCategory() {
        assertEquals(Map.of("Java Heap", 65536 * 1024L, "Class", 571 * 1024L, "Thread", 1102 * 1024L,
                "Compiler", 30720 * 1024L, "Other", 4104 * 1024L), NativeMemory.parse(SUMMARY));
    }

    /** The heap is measured on its own; compiled code, the compilers and class metadata are the JVM's machinery. */
    @Test
    void theBoundJudgesThreadsAndArenasAndReportsTheJvmsMachineryApart() {
        Map<String, Long> committed = NativeMemory.parse(SUMMARY);
        assertEquals((1102 + 4104) * 1024L, NativeMemory.owned(committed));
        assertEquals((571 + 30720) * 1024L, NativeMemory.machinery(committed));
    }

    @Test
    void aJvmWithoutTrackingAnswersWithNoCategories() {
        assertEquals(Map.of(), NativeMemory.parse("Native memory tracking is not enabled\n"));
    }

    /** What an FFM arena allocates counts under "Other" while it is open, and is gone once it is closed. */
    @Test
    void anArenasMemoryCountsUnderOtherUntilItCloses() {
        long before = NativeMemory.committed().get("Other");
        long open;
        try (Arena arena = Arena.ofConfined()) {
            arena.allocate(64 * MIB).fill((byte) 1);
            open = NativeMemory.committed().get("Other");
        }
        long closed = NativeMemory.committed().get("Other");
        assertTrue(open - before >= 64 * MIB, "grew by " + (open - before));
        assertTrue(Math.abs(closed - before) < 8 * MIB, "before " + before + ", after closing " + closed);
    }
}
