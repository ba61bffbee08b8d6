package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.base.Throwables;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.parallel.FailingRankProvider;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.flexllm.schedule.Policy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A rank of a tensor-parallel engine that fails in the middle of co-serving: the requests in flight and the
 * finetuning job riding beside them all end with the rank's failure as their cause, and nothing waits forever.
 */
@Timeout(120)
class TensorParallelFailureTest {
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.05).build());

    @Test
    void aRankFailingMidCoServingFailsTheRequestsAndDetachesTheJobWithItsCause() throws Exception {
        RecordingSource job = RecordingSource.of(1000, 24, 512);
        List<CompletableFuture<GenerationResult>> requests = new ArrayList<>();
        var decoded = new CompletableFuture<Void>();
        try (LlmEngine engine = LlmEngine.builder().model("synthetic:tiny").backend("failing-rank").tensorParallel(2)
                .policy(Policy.COSERVE).tokenBudget(32).maxFinetuneTokens(24).clock(EngineClock.simulated())
                .latencyModel(LATENCY).slo(new Slo(10_000, 1_000))
                .onIteration(r -> {
                    if (r.composition().decodeTokens() > 0 && r.composition().finetuneTokens() > 0) {
                        decoded.complete(null);
                    }
                }).build()) {
            engine.attach(job);
            var params = SamplingParams.builder().temperature(0).maxTokens(10_000).ignoreEos(true).build();
            for (int i = 0; i < 3; i++) {
                requests.add(engine.submit(GenerationRequest.of(Prompt.ids(new int[] {1 + i, 2, 3}))
                        .withParams(params)));
            }
            decoded.get(60, TimeUnit.SECONDS);
            FailingRankProvider.FAILING.set(true);
            for (var r : requests) {
                var e = assertThrows(ExecutionException.class, () -> r.get(60, TimeUnit.SECONDS));
                assertTrue(Throwables.getCausalChain(e).contains(FailingRankProvider.FAILURE),
                        "the rank's failure ends the request: " + e);
            }
            Throwable detached = job.detached.get(60, TimeUnit.SECONDS);
            assertTrue(Throwables.getCausalChain(detached).contains(FailingRankProvider.FAILURE),
                    "the rank's failure detaches the job: " + detached);
            assertEquals(1, job.detachCalls(), "the job is detached once");
        } finally {
            FailingRankProvider.FAILING.set(false);
        }
    }

}
