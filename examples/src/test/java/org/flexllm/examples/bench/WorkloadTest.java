package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    private static final LogNormalLength PROMPT = LogNormalLength.around(100);
    private static final LogNormalLength OUTPUT = LogNormalLength.around(20);

    @Test
    void poissonGapsAverageTheInverseRate() {
        double rate = 50;
        double duration = 2000;
        List<Arrival> arrivals = Workload.poisson(rate, duration, PROMPT, OUTPUT, new SplittableRandom(1));
        // About 100 000 arrivals: the count's standard deviation is 0.3% of it.
        assertEquals(rate * duration, arrivals.size(), 0.015 * rate * duration);
        double meanGap = (arrivals.getLast().timeS() - arrivals.getFirst().timeS()) / (arrivals.size() - 1);
        assertEquals(1 / rate, meanGap, 0.015 / rate);
        double squares = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            double gap = arrivals.get(i).timeS() - arrivals.get(i - 1).timeS();
            assertTrue(gap >= 0, "arrivals in order");
            squares += (gap - meanGap) * (gap - meanGap);
        }
        // Exponential gaps: the standard deviation equals the mean (a fixed spacing would have none).
        assertEquals(meanGap, Math.sqrt(squares / (arrivals.size() - 2)), 0.03 * meanGap);
        assertTrue(arrivals.getLast().timeS() < duration);
    }

    @Test
    void theSameSeedGivesTheSameWorkload() {
        List<Arrival> a = Workload.poisson(5, 20, PROMPT, OUTPUT, new SplittableRandom(7));
        assertEquals(a, Workload.poisson(5, 20, PROMPT, OUTPUT, new SplittableRandom(7)));
        assertNotEquals(a, Workload.poisson(5, 20, PROMPT, OUTPUT, new SplittableRandom(8)));
    }

    @Test
    void lengthsFollowTheirDistributions() {
        List<Arrival> arrivals = Workload.poisson(100, 500, PROMPT, OUTPUT, new SplittableRandom(3));
        double prompt = arrivals.stream().mapToInt(Arrival::promptLen).average().orElseThrow();
        double output = arrivals.stream().mapToInt(Arrival::outputLen).average().orElseThrow();
        assertEquals(100, prompt, 2);
        assertEquals(20, output, 0.5);
    }

    @Test
    void aNonPositiveRateIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> Workload.poisson(0, 10, PROMPT, OUTPUT, new SplittableRandom(1)));
    }
}
