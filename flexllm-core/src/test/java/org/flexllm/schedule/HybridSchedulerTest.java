package org.flexllm.schedule;

import static org.flexllm.schedule.CoServingSimulation.BUDGET;
import static org.flexllm.schedule.CoServingSimulation.TPOT_MS;
import static org.flexllm.schedule.CoServingSimulation.TTFT_MS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.flexllm.schedule.CoServingSimulation.Request;
import org.junit.jupiter.api.Test;

/** Scheduling decisions on a fake clock with a fixed latency model ({@link CoServingSimulation}). */
class HybridSchedulerTest {

    /** {@code decodes} requests that have their first token, and a lane with a long sample in its forward. */
    private static CoServingPlan planWithDecodes(CoServingSimulation sim, int decodes) {
        for (int i = 0; i < decodes; i++) {
            sim.submit(1, 50);
        }
        sim.run(sim.plan());
        sim.lane(1).start(sim.sample(200));
        return sim.plan();
    }

    @Test
    void inferenceIsAlwaysScheduledFirstAndTheWindowShrinksUnderLoad() throws Exception {
        List<Integer> windows = new ArrayList<>();
        for (int decodes : new int[] {1, 4, 8, 16}) {
            try (var sim = new CoServingSimulation(Policy.COSERVE)) {
                CoServingPlan plan = planWithDecodes(sim, decodes);
                assertEquals(decodes, plan.composition().decodeTokens(), "every running request decodes");
                assertTrue(plan.boundMs() <= plan.limitMs() || plan.window() == null, plan.toString());
                windows.add(plan.window() == null ? 0 : plan.window().count());
            }
        }
        for (int i = 1; i < windows.size(); i++) {
            assertTrue(windows.get(i) < windows.get(i - 1), "windows " + windows);
        }
        assertTrue(windows.getFirst() > 0, "windows " + windows);
        assertEquals(0, windows.getLast(), "16 decodes (21 ms) leave nothing within a 20 ms TPOT: " + windows);
    }

    @Test
    void underABurstPrefillIsChunkedWithinTheLimitAndFinetuningShrinksToNothing() throws Exception {
        try (var sim = new CoServingSimulation(Policy.COSERVE)) {
            CoServingPlan quiet = planWithDecodes(sim, 4);
            assertTrue(quiet.window() != null, "4 decodes leave room: " + quiet);
            for (int i = 0; i < 5; i++) {
                sim.submit(200, 8);
            }
            CoServingPlan burst = sim.plan();
            // 4 decodes: 9 ms of a 19 ms limit (20 ms TPOT, 0.95 margin) leave ~100 prefill tokens at 0.1 ms each,
            // and 2 such chunks finish a 200-token prompt well within its 400 ms TTFT.
            int prefill = burst.composition().prefillTokens();
            assertTrue(prefill > 50 && prefill < BUDGET - 4, "the burst's prefill is chunked: " + burst);
            assertTrue(burst.boundMs() <= TPOT_MS, "the decodes keep their TPOT: " + burst);
            assertNull(burst.window(), burst.toString());
            assertNull(burst.slice(), burst.toString());
        }
    }

    @Test
    void aPromptThatWouldMissItsTtftGetsTheSmallestChunkThatMeetsIt() throws Exception {
        try (var sim = new CoServingSimulation(Policy.COSERVE)) {
            planWithDecodes(sim, 12);
            sim.submit(250, 8, sim.nowMs - 220);
            CoServingPlan plan = sim.plan();
            // 12 decodes take 17 ms of the 19 ms their TPOT allows (0.95 margin): 20 prefill tokens would fit, 13
            // iterations for the prompt, far past the 80 ms the scheduler paces it to (half the 160 ms left of its
            // TTFT: 0.95 · 400 − 220). The fewest tokens an iteration that finish it in time: 3 chunks of 84
            // (3 · (17 + 8.4) = 76 ms); 4 of 63 take 93.
            assertEquals(84, plan.composition().prefillTokens(), plan.toString());
            assertTrue(plan.boundMs() > plan.limitMs(), "beyond the decodes' limit, for the TTFT: " + plan);
        }
    }

    @Test
    void withNoRequestFinetuningTakesTheWholeBudget() throws Exception {
        try (var sim = new CoServingSimulation(Policy.COSERVE)) {
            TrainingLane lane = sim.lane(1);
            lane.start(sim.sample(BUDGET + 44));
            CoServingPlan plan = sim.plan();
            assertEquals(BUDGET, plan.window().count());
            sim.run(plan);
            sim.run(sim.plan());
            CoServingPlan backward = sim.plan();
            assertEquals(lane.layers(), backward.slice().layers(), "the whole backward at once");
        }
    }

    @Test
    void noRequestStarvesUnderAConstantFinetuningLoadAndTheJobStillProgresses() throws Exception {
        try (var sim = new CoServingSimulation(Policy.COSERVE)) {
            sim.lane(1);
            Random random = new Random(7);
            for (int iteration = 0; iteration < 600; iteration++) {
                if (iteration % 5 == 0 && iteration < 500) {
                    sim.submit(1 + random.nextInt(40), 1 + random.nextInt(30));
                }
                sim.refill(96);
                CoServingPlan plan = sim.plan();
                assertTrue(plan.boundMs() <= Math.max(plan.limitMs(), predictedInference(plan)) + 1e-9,
                        "finetuning never pushes an iteration past the SLO limit: " + plan);
                sim.run(plan);
            }
            for (Request r : sim.requests) {
                assertTrue(r.done(), "request " + r.sequence.id() + " finished");
                assertTrue(r.ttftMs() <= TTFT_MS, "TTFT " + r.ttftMs());
                assertTrue(r.tpotMs() <= TPOT_MS, "TPOT " + r.tpotMs());
            }
            assertTrue(sim.samplesCompleted > 10, "samples completed: " + sim.samplesCompleted);
        }
    }

    private static double predictedInference(CoServingPlan plan) {
        return CoServingSimulation.LATENCY.predictMs(HybridScheduler.composition(plan.inference()));
    }

    @Test
    void jobsShareFinetuningByWeight() throws Exception {
        try (var sim = new CoServingSimulation(Policy.COSERVE)) {
            TrainingLane heavy = sim.lane(3);
            TrainingLane light = sim.lane(1);
            for (int i = 0; i < 400; i++) {
                sim.refill(32);
                sim.run(sim.plan());
            }
            double ratio = heavy.served() * 3 / (light.served() * 1);
            assertEquals(3, ratio, 0.5, "time used, heavy : light");
        }
    }

    @Test
    void spatialReservesAFixedShareWhateverTheLoad() throws Exception {
        try (var sim = new CoServingSimulation(Policy.SPATIAL)) {
            sim.lane(1).start(sim.sample(200));
            CoServingPlan idle = sim.plan();
            assertEquals(BUDGET / 4, idle.window().count(), "a quarter of the budget even with no request");
            sim.submit(500, 4);
            CoServingPlan loaded = sim.plan();
            assertEquals(BUDGET - BUDGET / 4, loaded.composition().prefillTokens());
        }
    }

    @Test
    void temporalRunsWholeSamplesEveryKIterationsOrWhenIdle() throws Exception {
        try (var sim = new CoServingSimulation(Policy.TEMPORAL)) {
            sim.lane(1);
            sim.refill(64);
            assertTrue(sim.plan().whole() != null, "no request: a whole sample");
            sim.submit(1, 100);
            List<Boolean> whole = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                sim.refill(64);
                CoServingPlan plan = sim.plan();
                whole.add(plan.whole() != null);
                assertTrue(plan.whole() == null || plan.composition().decodeTokens() == 0, "whole samples run alone");
                sim.run(plan);
            }
            assertEquals(List.of(false, false, false, false, true, false, false, false, false, true), whole);
        }
    }

    /**
     * 0.5 ms a backward layer-token: one layer of a 64-token sample takes 32 ms, past the 20 ms TPOT even alone,
     * and four decodes take 9 ms of it. The backward runs in chunks of a layer's rows beside every decode, within
     * the limit, and samples complete.
     */
    @Test
    void aLayerLongerThanTheTpotRunsInChunksOfRowsBesideTheDecodes() throws Exception {
        var slowLayer = LinearLatencyModel.fixed(LinearLatencyModel.Coefficients.builder()
            .iteration(5).decodeToken(1).prefillToken(0.1).finetuneToken(0.1).backwardLayerToken(0.5).build());
        try (var sim = new CoServingSimulation(Policy.COSERVE, slowLayer)) {
            TrainingLane lane = sim.lane(1);
            for (int i = 0; i < 4; i++) {
                sim.submit(1, 300);
            }
            int chunks = 0;
            for (int iteration = 0; iteration < 250; iteration++) {
                sim.refill(64);
                CoServingPlan plan = sim.plan();
                assertTrue(plan.boundMs() <= plan.limitMs(), "every iteration within the limit: " + plan);
                if (plan.slice() != null) {
                    assertEquals(1, plan.slice().layers(), plan.toString());
                    assertTrue(plan.slice().rows() < 64, "a chunk of the layer's rows: " + plan);
                    chunks++;
                }
                sim.run(plan);
            }
            assertTrue(sim.requests.stream().allMatch(r -> r.tokenMs.size() > 200 && r.tpotMs() <= TPOT_MS),
                    "the requests decode at their TPOT");
            assertTrue(sim.samplesCompleted >= 3, "samples completed: " + sim.samplesCompleted + " in " + chunks
                    + " chunks of " + lane.layers() + " layers of 64 rows");
        }
    }

    @Test
    void aLayerLongerThanTheLimitStillRunsWhenNoRequestWaitsAndUnderSpatial() throws Exception {
        var slowBackward = LinearLatencyModel.fixed(LinearLatencyModel.Coefficients.builder()
            .iteration(5).decodeToken(1).prefillToken(0.1).finetuneToken(0.1).backwardLayerToken(100).build());
        for (Policy policy : new Policy[] {Policy.COSERVE, Policy.SPATIAL}) {
            try (var sim = new CoServingSimulation(policy, slowBackward)) {
                sim.lane(1);
                for (int i = 0; i < 200 && sim.samplesCompleted == 0; i++) {
                    sim.refill(32);
                    sim.run(sim.plan());
                }
                assertEquals(1, sim.samplesCompleted, policy + ": a sample completed, a layer (or a chunk of one) at a time");
            }
        }
    }
}
