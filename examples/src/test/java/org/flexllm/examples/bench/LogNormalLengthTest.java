package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LogNormalLengthTest {
    private static final int SAMPLES = 200_000;

    private static int[] sample(LogNormalLength lengths, long seed) {
        var random = new SplittableRandom(seed);
        int[] values = new int[SAMPLES];
        Arrays.setAll(values, i -> lengths.sample(random));
        return values;
    }

    @Test
    void theMeanIsTheAskedMean() {
        int[] values = sample(new LogNormalLength(300, 0.9), 1);
        // The standard error of the mean is about 0.25% here.
        assertEquals(300, Arrays.stream(values).average().orElseThrow(), 300 * 0.015);
    }

    @Test
    void theTailIsLong() {
        double sigma = 0.9;
        int[] values = sample(new LogNormalLength(300, sigma), 2);
        Arrays.sort(values);
        // Median exp(mu) = mean * exp(-sigma²/2): most lengths are below the mean, a few far above it.
        assertEquals(300 * Math.exp(-sigma * sigma / 2), values[SAMPLES / 2], 300 * 0.02);
        long beyondThreeMeans = Arrays.stream(values).filter(v -> v > 900).count();
        assertTrue(beyondThreeMeans > SAMPLES * 0.03 && beyondThreeMeans < SAMPLES * 0.07,
                beyondThreeMeans + " of " + SAMPLES);
    }

    @Test
    void lengthsAreAtLeastOneToken() {
        assertTrue(Arrays.stream(sample(new LogNormalLength(1, 1.5), 3)).allMatch(v -> v >= 1));
    }

    @Test
    void noSpreadGivesTheMean() {
        assertTrue(Arrays.stream(sample(new LogNormalLength(42, 0), 4)).allMatch(v -> v == 42));
    }

    @Test
    void aMeanBelowOneTokenIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LogNormalLength(0.5, 1));
    }
}
