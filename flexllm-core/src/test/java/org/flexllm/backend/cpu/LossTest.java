package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LossTest {
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    @Test
    void rejectsATargetOutsideTheVocabularyAndLeavesTheLogitsAlone() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment logits = TestData.floats(arena, new Random(2), 2 * 10);
            MemorySegment before = arena.allocate(logits.byteSize()).copyFrom(logits);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend.crossEntropy(logits, 2, 10, new int[] {3, 10}, 1f));

            assertTrue(e.getMessage().contains("target 10 of row 1"), e.getMessage());
            assertEquals(-1, logits.mismatch(before));
        }
    }
}
