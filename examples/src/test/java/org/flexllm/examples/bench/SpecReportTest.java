package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.List;
import org.flexllm.api.Slo;
import org.flexllm.schedule.Policy;
import org.junit.jupiter.api.Test;

class SpecReportTest {
    private static final Slo TIGHT = new Slo(1000, 20);
    private static final Slo LOOSE = new Slo(1000, 100);
    private static final SloMix MIX = new SloMix(List.of(TIGHT, LOOSE), List.of(0.5, 0.5));
    private static final CoserveConfig CONFIG = new CoserveConfig("synthetic:tiny", Policy.INFERENCE_ONLY, 2.0, null,
            10, LOOSE, 64, 32, null, 128, 8, 5, null);

    @Test
    void attainmentPerClassAndGoodputCountOnlyRequestsThatMetTheirTargets() {
        var outcomes = List.of(
                new RequestOutcome(0.1, true, true, 10, 15, 40, TIGHT),
                new RequestOutcome(0.2, true, false, 10, 30, 20, TIGHT),
                RequestOutcome.missed(0.3, TIGHT),
                new RequestOutcome(0.4, true, true, 10, 50, 60, LOOSE));
        var run = new CoserveRun(outcomes, List.of(), List.of(), List.of(), 10, new SpecCounts(30, 12, 10), 0);
        SpecReport r = SpecReport.of(CONFIG, MIX, "oracle:0.7", "adaserve", run);
        assertEquals(0.5, r.sloAttainment());
        assertEquals(Arrays.asList(1.0 / 3, 1.0), r.sloAttainmentByClass());
        assertEquals((40 + 60) / 10.0, r.goodputTokensPerS(), 1e-12);
        assertEquals((40 + 20 + 60) / 10.0, r.tokensPerS(), 1e-12);
        assertEquals(0.4, r.acceptanceRate(), 1e-12, "12 of 30 drafted tokens");
        assertEquals(2.2, r.meanAcceptedLength(), 1e-12, "(12 accepted + 10 bonus) / 10 verifications");
        assertEquals(List.of(20.0, 100.0), r.sloTpotMs());
    }

    @Test
    void withoutSpeculationThereIsNoAcceptance() {
        var run = new CoserveRun(List.of(), List.of(), List.of(), List.of(), 10, SpecCounts.NONE, 0);
        SpecReport r = SpecReport.of(CONFIG, MIX, "none", "none", run);
        assertNull(r.acceptanceRate());
        assertNull(r.meanAcceptedLength());
        assertEquals(Arrays.asList(null, null), r.sloAttainmentByClass());
    }
}
