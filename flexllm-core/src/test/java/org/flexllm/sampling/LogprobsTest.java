package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LogprobsTest {

    @Test
    void logSoftmaxMatchesDoublePrecisionOnAQwenSizedRow() {
        float[] row = ReferenceDistribution.gaussianRow(151_936, 4, 1);
        double[] reference = ReferenceDistribution.logSoftmax(row);
        float[] out = new float[row.length];
        Logprobs.logSoftmax(row, out);
        for (int i = 0; i < row.length; i++) {
            assertEquals(reference[i], out[i], 1e-6 * Math.max(1, Math.abs(reference[i])), "id " + i);
        }
        assertEquals(reference[123], Logprobs.forToken(row, 123, 0).logprob(), 1e-5);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 17, 500, 2000})
    void topKMatchesAFullSortWithTiesToTheLowerId(int k) {
        // Values on a coarse grid so that many are equal; an odd length leaves a tail after the vector loop.
        float[] row = ReferenceDistribution.gaussianRow(2001, 3, k);
        for (int i = 0; i < row.length; i++) {
            row[i] = Math.round(row[i] * 2) / 2f;
        }
        int[] expected = IntStream.range(0, row.length).boxed()
                .sorted((a, b) -> row[a] != row[b] ? Float.compare(row[b], row[a]) : Integer.compare(a, b))
                .limit(k).mapToInt(Integer::intValue).toArray();
        int[] out = new int[k];
        Logprobs.topK(row, k, out);
        assertArrayEquals(expected, out);
    }

    @Test
    void topKKeepsTheLowestIdsAmongEqualValuesUpToTheLastEntry() {
        // 37 entries leave a tail after the vector loop for every vector width.
        int[] out = new int[3];
        Logprobs.topK(new float[37], 3, out);
        assertArrayEquals(new int[] {0, 1, 2}, out);
    }

    @Test
    void topKRejectsAKLargerThanTheRow() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Logprobs.topK(new float[3], 4, new int[4]));
        assertTrue(e.getMessage().contains("row length 3"), e.getMessage());
    }

    @Test
    void forTokenGivesTheTokenAndItsMostLikelyAlternatives() {
        float[] row = ReferenceDistribution.gaussianRow(3000, 2, 9);
        double[] reference = ReferenceDistribution.logSoftmax(row);
        SampledToken token = Logprobs.forToken(row, 42, 4);
        assertEquals(42, token.id());
        assertEquals(reference[42], token.logprob(), 1e-5);
        assertEquals(4, token.topLogprobs().size());
        for (int r = 0; r < 4; r++) {
            TokenLogprob alternative = token.topLogprobs().get(r);
            assertEquals(reference[alternative.id()], alternative.logprob(), 1e-5);
            if (r > 0) {
                assertTrue(token.topLogprobs().get(r - 1).logprob() >= alternative.logprob());
            }
        }
    }

    @Test
    void forTokenReturnsNoMoreAlternativesThanTheRowHolds() {
        assertEquals(3, Logprobs.forToken(new float[] {1, 2, 3}, 0, 10).topLogprobs().size());
    }
}
