package org.flexllm.examples.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.Reference;
import org.junit.jupiter.api.Test;

/** The live heap from the class histogram, read in this JVM and parsed. */
class LiveHeapTest {
    private static final int MIB = 1 << 20;

    @Test
    void theTotalLineGivesTheBytes() {
        String histogram = """
                 num     #instances         #bytes  class name (module)
                -------------------------------------------------------
                   1:         27563        2707032  [B (java.base@25.0.3)
                   2:          4692         262752  org.flexllm.peft.train.StepRecord
                Total        227676       17512072
                """;
        assertEquals(17_512_072, LiveHeap.total(histogram));
        assertThrows(IllegalStateException.class, () -> LiveHeap.total("Class histogram is not available\n"));
    }

    /**
     * A 64 MiB array kept alive counts; once unreachable, a later reading no longer has it (other objects come and go
     * meanwhile by kilobytes, hence 60 MiB).
     */
    @Test
    void anArrayHeldCountsAndADroppedOneDoesNot() {
        long before = LiveHeap.bytes();
        byte[] held = new byte[64 * MIB];
        long holding = LiveHeap.bytes();
        Reference.reachabilityFence(held);
        held = null;
        long after = LiveHeap.bytes();
        assertTrue(holding - before >= 60 * MIB, "grew by " + (holding - before));
        assertTrue(holding - after >= 60 * MIB, "holding " + holding + ", after dropping " + after);
    }
}
