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

    /**
     * Logits spread over {@code ±spread}, offset by {@code offset}: a large offset would overflow a log-sum-exp that
     * did not subtract the maximum. The last row has no target.
     */
    @ParameterizedTest(name = "rows={0} vocab={1} spread={2} offset={3}")
    @CsvSource({"1, 5, 1, 0", "3, 37, 4, 0", "4, 1000, 8, 200", "2, 32, 30, -500"})
    void turnsLogitsIntoTheWeightedGradientAndReturnsTheWeightedLoss(int rows, int vocab, float spread,
                                                                      float offset) {
        float weight = 0.37f;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(rows * 7L + vocab);
            MemorySegment logits = TestData.floats(arena, random, (long) rows * vocab);
            for (long i = 0; i < (long) rows * vocab; i++) {
                VectorMath.set(logits, i, TestData.get(logits, i) * spread + offset);
            }
            MemorySegment before = arena.allocate(logits.byteSize()).copyFrom(logits);
            int[] targets = random.ints(rows, 0, vocab).toArray();
            targets[rows - 1] = -1;

            double loss = backend.crossEntropy(logits, rows, vocab, targets, weight);

            double expectedLoss = 0;
            for (int r = 0; r < rows; r++) {
                long off = (long) r * vocab;
                if (targets[r] < 0) {
                    for (int i = 0; i < vocab; i++) {
                        assertEquals(0f, TestData.get(logits, off + i), "ignored row " + r + ", logit " + i);
                    }
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < vocab; i++) {
                    max = Math.max(max, TestData.get(before, off + i));
                }
                double sum = 0;
                for (int i = 0; i < vocab; i++) {
                    sum += Math.exp(TestData.get(before, off + i) - max);
                }
                expectedLoss += weight * (max + Math.log(sum) - TestData.get(before, off + targets[r]));
                for (int i = 0; i < vocab; i++) {
                    double softmax = Math.exp(TestData.get(before, off + i) - max) / sum;
                    double expected = weight * (softmax - (i == targets[r] ? 1 : 0));
                    assertEquals(expected, TestData.get(logits, off + i), 1e-6, "row " + r + ", logit " + i);
                }
            }
            assertEquals(expectedLoss, loss, 1e-5 * Math.max(1, expectedLoss));
            assertTrue(Double.isFinite(loss));
        }
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
