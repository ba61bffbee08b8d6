package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.flexllm.api.Slo;
import org.flexllm.schedule.Policy;
import org.junit.jupiter.api.Test;

class CoserveReportTest {
    private static final Slo SLO = new Slo(1000, 100);
    private static CoserveConfig config(Policy policy) {
        return new CoserveConfig("synthetic:tiny", policy, 2.0, null, 10, new Slo(100, 20), 64, 32, null, 128, 8, 5, null);
    }

    private static RequestOutcome done(double at, boolean met, double ttft, double tpot, int tokens) {
        return new RequestOutcome(at, true, met, ttft, tpot, tokens, SLO);
    }

    /** Five requests: three met their SLO, one was late, one was cancelled; one generated a single token. */
    private static final List<RequestOutcome> OUTCOMES = List.of(
            done(0.1, true, 40, 10, 10),
            done(0.5, true, 10, 0, 1),
            done(1.2, false, 300, 12, 20),
            done(2.0, true, 20, 18, 10),
            RequestOutcome.missed(3.0, SLO));

    @Test
    void attainmentCountsEverySubmittedRequest() {
        CoserveReport r = CoserveReport.of(config(Policy.COSERVE), new CoserveRun(OUTCOMES, List.of(), 12.5));
        assertEquals(3.0 / 5, r.sloAttainment(), 1e-12);
        assertEquals(5, r.requestsSubmitted());
        assertEquals(4, r.requestsCompleted());
        assertEquals("coserve", r.policy());
    }

    @Test
    void percentilesInterpolateBetweenRanks() {
        CoserveReport r = CoserveReport.of(config(Policy.COSERVE), new CoserveRun(OUTCOMES, List.of(), 12.5));
        // TTFTs of the completed requests, sorted: 10, 20, 40, 300.
        assertEquals(30, r.ttftP50Ms(), 1e-9);
        assertEquals(40 + 0.97 * 260, r.ttftP99Ms(), 1e-9);
        // TPOTs of the requests with two tokens or more: 10, 12, 18.
        assertEquals(12, r.tpotP50Ms(), 1e-9);
        assertEquals(12 + 0.98 * 6, r.tpotP99Ms(), 1e-9);
    }

    @Test
    void throughputsAreOverTheWallTime() {
        var finetune = List.of(new FinetuneProgress(1, 128), new FinetuneProgress(4, 128), new FinetuneProgress(9, 64));
        CoserveReport r = CoserveReport.of(config(Policy.COSERVE), new CoserveRun(OUTCOMES, finetune, 12.5));
        assertEquals(41, r.generatedTokens());
        assertEquals(41 / 12.5, r.inferenceTokensPerS(), 1e-12);
        assertEquals(320, r.finetuneTokens());
        assertEquals(320 / 12.5, r.finetuneTokensPerS(), 1e-12);
    }

    @Test
    void withoutRequestsThereIsNothingToMeasure() {
        CoserveReport r = CoserveReport.of(config(Policy.FINETUNE_ONLY),
                new CoserveRun(List.of(), List.of(new FinetuneProgress(1, 128)), 10));
        assertNull(r.sloAttainment());
        assertNull(r.ttftP50Ms());
        assertNull(r.tpotP99Ms());
        assertNull(r.rate(), "the configured rate submitted nothing");
        assertEquals(0, r.inferenceTokensPerS());
        assertEquals(12.8, r.finetuneTokensPerS(), 1e-12);
        assertTrue(r.table().contains("SLO attainment   - "), r.table());
    }

    @Test
    void theLatencyModelAndGcPausesAreReported() {
        var run = new CoserveRun(OUTCOMES, List.of(), List.of(new IterationTiming(8, 10, 9, false),
                new IterationTiming(10, 10, Double.POSITIVE_INFINITY, true)),
                List.of(new GcPause("G1 Young Generation", 5,
                45)), 12.5, SpecCounts.NONE, 250_000_000);
        CoserveReport r = CoserveReport.of(config(Policy.COSERVE), run);
        assertEquals(2, r.latencyModel().iterations());
        assertEquals(0.1, r.latencyModel().errorP50(), 1e-12);
        assertEquals(1.0, r.latencyModel().overLimitShare(), "the one limited iteration took 10 ms of 9");
        assertEquals(1, r.gcPauses().count());
        assertEquals(45, r.gcPauses().maxMs());
        assertNull(r.sloCalibration());
        assertTrue(r.table().contains("error p50 10.0%, p90 18.0% over 2 iterations; 100.0% of the 1 with an SLO"
                + " limit over it") && r.table().contains("GC pauses        1, p99 45 ms, max 45 ms")
                && r.table().contains("heap allocation 20.0 MB/s")
                && !r.table().contains("SLO calibration"), r.table());
    }

    @Test
    void aCalibratedSloIsNamedWithWhatItCameFrom() {
        var calibration = new SloCalibration(10, 18, 4, 50, 1.5, 3, 6, 150);
        CoserveReport r = CoserveReport.of(config(Policy.COSERVE).withSlo(calibration.slo()),
                new CoserveRun(OUTCOMES, List.of(), 12.5), calibration);
        assertEquals(6, r.sloTpotMs());
        assertEquals(150, r.sloTtftMs());
        assertTrue(r.table().contains("SLO calibration  unloaded (inference-only, 10.0 s, 18 requests): TPOT p50"
                + " 4.00 ms, TTFT p99 50.00 ms; TPOT SLO 1.5 x 4.00 = 6.00 ms, TTFT SLO 3.0 x 50.00 = 150.00 ms"),
                r.table());
    }

    @Test
    void theTableShowsTheHeadlineNumbers() {
        String table = CoserveReport.of(config(Policy.INFERENCE_ONLY), new CoserveRun(OUTCOMES, List.of(), 12.5))
                .table();
        assertTrue(table.contains("60.0%") && table.contains("5 submitted, 4 completed")
                && table.contains("finetuning       none"), table);
    }
}
