package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.flexllm.api.Slo;
import org.flexllm.schedule.Policy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoserveConfigTest {
    private static final Slo SLO = new Slo(1000, 100);

    @TempDir
    Path temp;

    private static CoserveConfig config(Policy policy, Double rate, Path trace) {
        return new CoserveConfig("synthetic:tiny", policy, rate, trace, 3, SLO, 64, 32, null, 128, 8, 0, null);
    }

    @Test
    void aTraceIsReplayedForTheDuration() throws IOException {
        Path trace = Files.write(temp.resolve("t.csv"), List.of("0,10,10", "1.5,300,10", "3.0,5,5"));
        List<Arrival> arrivals = config(Policy.COSERVE, null, trace).arrivals(new SplittableRandom(0));
        assertEquals(List.of(new Arrival(0, 10, 10), new Arrival(1.5, 300, 10)), arrivals);
    }

    @Test
    void poissonArrivalsComeAtTheRate() {
        List<Arrival> arrivals = new CoserveConfig("m", Policy.COSERVE, 50.0, null, 10, SLO, 200, 200, null, 128, 8, 0, null)
                .arrivals(new SplittableRandom(1));
        assertEquals(500, arrivals.size(), 100);
        assertTrue(arrivals.getLast().timeS() < 10);
    }

    @Test
    void finetuneOnlySubmitsNoRequests() {
        assertEquals(List.of(), config(Policy.FINETUNE_ONLY, 5.0, null).arrivals(new SplittableRandom(0)));
        assertEquals(List.of(), config(Policy.FINETUNE_ONLY, null, null).arrivals(new SplittableRandom(0)));
    }

    @Test
    void servingPoliciesNeedArrivals() {
        var e = assertThrows(IllegalArgumentException.class, () -> config(Policy.TEMPORAL, null, null));
        assertTrue(e.getMessage().contains("--rate or --trace"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config(Policy.COSERVE, 1.0, Path.of("t.csv")));
        assertTrue(e.getMessage().contains("not both"), e.getMessage());
    }

    @Test
    void inferenceOnlyRunsNoJob() {
        assertEquals(null, config(Policy.INFERENCE_ONLY, 1.0, null).ftDataLabel());
        assertEquals("synthetic", config(Policy.SPATIAL, 1.0, null).ftDataLabel());
    }
}
