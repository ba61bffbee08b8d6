package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyModelErrorTest {
    private static final double NONE = Double.POSITIVE_INFINITY;

    @Test
    void errorsAreRelativeToTheMeasuredLatency() {
        // Errors 0.5, 0.25, 0, 1 (predicted twice what it took): sorted 0, 0.25, 0.5, 1.
        var m = LatencyModelError.of(List.of(new IterationTiming(5, 10, 8, false),
                new IterationTiming(15, 20, NONE, true), new IterationTiming(4, 4, 5, true),
                new IterationTiming(10, 5, 6, false)));
        assertEquals(4, m.iterations());
        assertEquals(0.375, m.errorP50(), 1e-12);
        assertEquals(0.5 + 0.7 * 0.5, m.errorP90(), 1e-12);
        assertEquals(3, m.limitedIterations(), "the one without a limit is left out of the share");
        assertEquals(1.0 / 3, m.overLimitShare(), 1e-12, "10 ms against a limit of 8");
        assertEquals(0.0, m.finetuneOverLimitShare(), "the one over its limit carried no finetuning");
    }

    @Test
    void finetuningOverTheLimitIsCountedApart() {
        var m = LatencyModelError.of(List.of(new IterationTiming(5, 10, 8, true), new IterationTiming(5, 9, 8, false),
                new IterationTiming(5, 5, 8, true), new IterationTiming(5, 5, 8, false)));
        assertEquals(0.5, m.overLimitShare(), 1e-12);
        assertEquals(0.25, m.finetuneOverLimitShare(), 1e-12);
    }

    /** A request behind its schedule leaves a limit of 0: over it, but not necessarily over the TPOT target. */
    @Test
    void iterationsLongerThanTheTpotTargetAreCountedApart() {
        var m = LatencyModelError.of(List.of(new IterationTiming(5, 10, 0, false), new IterationTiming(5, 30, 0, false),
                new IterationTiming(5, 12, 40, true), new IterationTiming(5, 25, NONE, true)), 20);
        assertEquals(2.0 / 3, m.overLimitShare(), 1e-12, "10 and 30 ms against limits of 0");
        assertEquals(1.0 / 3, m.overTpotShare(), 1e-12, "30 ms against a 20 ms target; 25 ms had no limit");
        assertNull(LatencyModelError.of(List.of(new IterationTiming(5, 10, 0, false))).overTpotShare(),
                "no target given");
    }

    @Test
    void withoutIterationsOrLimitsThereIsNothingToMeasure() {
        var none = LatencyModelError.of(List.of());
        assertNull(none.errorP50());
        assertNull(none.overLimitShare());
        var unlimited = LatencyModelError.of(List.of(new IterationTiming(1, 2, NONE, false)));
        assertEquals(0.5, unlimited.errorP90());
        assertEquals(0, unlimited.limitedIterations());
        assertNull(unlimited.overLimitShare());
    }
}
