package org.flexllm.examples.bench;

import org.flexllm.api.Slo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TimelineTest {
    private static final Slo SLO = new Slo(1000, 100);
    private static final List<RequestOutcome> OUTCOMES = List.of(
            new RequestOutcome(0.2, true, true, 1, 1, 5, SLO),
            new RequestOutcome(0.7, true, false, 1, 1, 5, SLO),
            RequestOutcome.missed(0.9, SLO),
            new RequestOutcome(2.5, true, true, 1, 1, 5, SLO));
    private static final List<FinetuneProgress> FINETUNE = List.of(
            new FinetuneProgress(0.5, 100), new FinetuneProgress(1.0, 50), new FinetuneProgress(3.2, 64));

    @Test
    void binsAreOneSecondOrAThirtiethOfTheDuration() {
        assertEquals(1, Timeline.binWidth(10));
        assertEquals(20, Timeline.binWidth(600));
    }

    @Test
    void eventsLandInTheirIntervals() {
        List<TimelineBin> bins = Timeline.of(new CoserveRun(OUTCOMES, FINETUNE, 3.2), 1);
        assertEquals(List.of(new TimelineBin(0, 1, 3, 1, 100), new TimelineBin(1, 1, 0, 0, 50)), bins.subList(0, 2));
        assertEquals(1, bins.get(2).arrivals());
        assertEquals(64, bins.get(2).finetuneTokens());
    }

    @Test
    void ratesAreCountsOverTheIntervalsWidth() {
        List<TimelineBin> bins = Timeline.of(new CoserveRun(OUTCOMES, FINETUNE, 3.4), 1);
        assertEquals(3, bins.get(0).arrivalRate());
        assertEquals(1.0 / 3, bins.get(0).sloAttainment(), 1e-12);
        assertTrue(Double.isNaN(bins.get(1).sloAttainment()));
        assertEquals(64 / 1.4, bins.get(2).finetuneTokensPerS(), 1e-9);
        assertEquals(2.7, bins.get(2).midS(), 1e-12);
    }

    @Test
    void aShortRemainderJoinsTheLastInterval() {
        List<TimelineBin> bins = Timeline.of(new CoserveRun(OUTCOMES, FINETUNE, 3.4), 1);
        assertEquals(3, bins.size());
        assertEquals(2, bins.getLast().startS());
        assertEquals(1.4, bins.getLast().widthS(), 1e-12);
        assertEquals(64, bins.getLast().finetuneTokens());
    }

    @Test
    void aLongRemainderIsAnIntervalOfItsOwn() {
        List<TimelineBin> bins = Timeline.of(new CoserveRun(OUTCOMES, FINETUNE, 3.6), 1);
        assertEquals(4, bins.size());
        assertEquals(0.6, bins.getLast().widthS(), 1e-12);
        assertEquals(0, bins.get(2).finetuneTokens());
        assertEquals(64, bins.getLast().finetuneTokens());
    }
}
