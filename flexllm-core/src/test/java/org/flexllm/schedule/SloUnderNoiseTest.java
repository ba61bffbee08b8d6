package org.flexllm.schedule;

import static org.flexllm.schedule.CoServingSimulation.TPOT_MS;
import static org.flexllm.schedule.CoServingSimulation.TTFT_MS;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.flexllm.schedule.CoServingSimulation.Request;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.junit.jupiter.api.Test;

/**
 * The SLO guarantee when the latency model is wrong: iterations "really" take a truth of the test's own, with noise
 * and hiccups, and the scheduler's model starts from a profile that underestimates it by 30% (a machine slower than
 * the one profiled) and must learn the rest online. On the fake clock, so the outcome is the same on every machine.
 */
class SloUnderNoiseTest {
    private static final Coefficients TRUTH = Coefficients.builder().iteration(4).pass(1).decodeToken(0.8)
            .prefillToken(0.12).finetuneToken(0.15).attentionKey(0.0005).window(3).backwardLayer(0.5)
            .backwardLayerToken(0.08).build();
    private static final double SECONDS = 30;

    /** What an iteration takes: the truth, ±10% noise, and a 5 ms hiccup one time in fifty. */
    private static double measured(Composition c, Random noise) {
        return TRUTH.ms(c) * (0.9 + 0.2 * noise.nextDouble()) + (noise.nextInt(50) == 0 ? 5 : 0);
    }

    /** The start-up profile, taken on a machine 30% faster than the one the engine then runs on. */
    private static LinearLatencyModel profiled() {
        return LinearLatencyModel.calibrated(LinearLatencyModelTest.profile(LinearLatencyModelTest.scaled(TRUTH, 0.7)));
    }

    /** A run's outcome: SLO attainment, finetuning samples completed, and the plans made while requests ran. */
    private record Outcome(double attainment, int samples, List<CoServingPlan> loaded) {}

    /** Poisson arrivals at {@code rate} per second for {@link #SECONDS}, run until every request is done. */
    private static Outcome run(Policy policy, double rate) throws Exception {
        Random workload = new Random(11);
        Random noise = new Random(12);
        List<CoServingPlan> loaded = new ArrayList<>();
        try (var sim = new CoServingSimulation(policy, profiled(), c -> measured(c, noise))) {
            if (policy != Policy.INFERENCE_ONLY) {
                sim.lane(1);
            }
            double nextArrival = 0;
            while (nextArrival < SECONDS * 1000 || sim.requests.stream().anyMatch(r -> !r.done())) {
                while (nextArrival <= sim.nowMs && nextArrival < SECONDS * 1000) {
                    sim.submit(1 + workload.nextInt(120), 2 + workload.nextInt(60), nextArrival);
                    nextArrival += -Math.log(1 - workload.nextDouble()) * 1000 / rate;
                }
                sim.refill(128);
                CoServingPlan plan = sim.plan();
                if (plan.isEmpty()) {
                    sim.nowMs = nextArrival;
                    continue;
                }
                if (plan.limitMs() < Double.POSITIVE_INFINITY) {
                    loaded.add(plan);
                }
                sim.run(plan);
            }
            long met = sim.requests.stream().filter(r -> r.ttftMs() <= TTFT_MS && r.tpotMs() <= TPOT_MS).count();
            return new Outcome((double) met / sim.requests.size(), sim.samplesCompleted, loaded);
        }
    }

    @Test
    void coservingKeepsTheSloWhereInferenceAloneDoesAndTheJobProgresses() throws Exception {
        // The heaviest of 8, 16, 24 requests/s where inference alone keeps 95% here (at 24 it keeps a third).
        double rate = 16;
        Outcome alone = run(Policy.INFERENCE_ONLY, rate);
        assertTrue(alone.attainment() >= 0.95, "the load is one inference alone serves: " + alone.attainment());
        Outcome coserved = run(Policy.COSERVE, rate);
        assertTrue(coserved.attainment() >= 0.9, "co-served attainment " + coserved.attainment()
                + " (inference alone: " + alone.attainment() + ")");
        assertTrue(coserved.samples() >= 20, "finetuning samples completed: " + coserved.samples());
    }

    @Test
    void whileRequestsRunFinetuningOnlyTakesWorkPlannedWithinTheLimit() throws Exception {
        Outcome coserved = run(Policy.COSERVE, 16);
        int finetuning = 0;
        for (CoServingPlan plan : coserved.loaded()) {
            if (plan.window() != null || plan.slice() != null) {
                finetuning++;
                assertTrue(plan.boundMs() <= plan.limitMs(), "over the limit: " + plan);
            }
        }
        assertTrue(finetuning > 100, "finetuning ran beside requests in " + finetuning + " iterations");
        assertTrue(coserved.loaded().stream().anyMatch(p -> p.waiting() > 0), "and waited when nothing fit");
    }
}
