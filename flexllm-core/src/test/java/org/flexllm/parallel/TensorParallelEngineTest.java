package org.flexllm.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import com.google.common.base.Throwables;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.flexllm.Shared;
import org.flexllm.api.AdapterHost;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.graph.GraphPass;
import org.flexllm.model.ModelConfig;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The engine on a tensor-parallel model: the iteration loop drives every rank. */
@Timeout(300)
class TensorParallelEngineTest {
    private static final Path STORIES = Shared.resolve("models/stories260K");
    private static final SamplingParams GREEDY = SamplingParams.builder().temperature(0).maxTokens(16)
            .ignoreEos(true).build();
    /** Fixed, so that no engine spends its start-up profiling: the tokens do not depend on the schedule. */
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.05).build());

    private static EngineBuilder engine(int ranks) {
        return LlmEngine.builder().model(STORIES).latencyModel(LATENCY).tensorParallel(ranks);
    }

    /** Greedy ids of eight requests submitted at once, so that iterations batch decodes and prefills. */
    private static List<List<Integer>> greedy(int ranks) throws Exception {
        try (LlmEngine engine = engine(ranks).build()) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int[] prompt = {1, 3 + i * 37 % 500, 3 + i * 101 % 500, 3 + i * 7 % 500};
                futures.add(engine.submit(GenerationRequest.of(Prompt.ids(prompt)).withParams(GREEDY)));
            }
            List<List<Integer>> ids = new ArrayList<>();
            for (var f : futures) {
                ids.add(f.get(60, TimeUnit.SECONDS).ids());
            }
            return ids;
        }
    }

    @Test
    void greedyTokensOfBatchedRequestsEqualOneRanks() throws Exception {
        List<List<Integer>> one = greedy(1);
        assertEquals(one, greedy(2), "TP 2");
        assertEquals(one, greedy(4), "TP 4");
    }

    @Test
    void aRankThatFailsMidIterationFailsEveryRequestWithItsCause() throws Exception {
        try (LlmEngine engine = engine(2).backend("failing-rank").build()) {
            FailingRankProvider.FAILING.set(true);
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                futures.add(engine.submit(GenerationRequest.of(Prompt.ids(new int[] {1, 403 + i})).withParams(GREEDY)));
            }
            for (var f : futures) {
                var e = assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS));
                assertTrue(Throwables.getCausalChain(e).contains(FailingRankProvider.FAILURE),
                        "the rank's failure is the cause: " + e);
            }
        } finally {
            FailingRankProvider.FAILING.set(false);
        }
    }


    @Test
    void theEngineReportsTheWholeModel() {
        try (LlmEngine engine = engine(2).build()) {
            assertEquals(8, engine.config().numHeads());
            assertEquals(172, engine.config().intermediateSize());
        }
    }

    @Test
    void moreRanksThanHeadsIsRefusedAtBuild() {
        var e = assertThrows(TensorParallelException.class,
                () -> LlmEngine.builder().model(STORIES).tensorParallel(16).build());
        assertEquals("16 ranks exceed the model's 8 attention heads: each rank needs at least one", e.getMessage());
    }

    /** A host that attaches its bypass ops to one device's graph only. */
    @Test
    void aHostThatCannotSplitItsAdaptersIsRefused() {
        AdapterHost host = new AdapterHost() {
            public List<GraphPass> passes(ModelConfig model) { return List.of(); }
            public void check(String name) {}
            public int tryAcquire(String name) { return 0; }
            public void release(int slot) {}
        };
        var e = assertThrows(TensorParallelException.class,
                () -> LlmEngine.builder().model(STORIES).adapters(host).tensorParallel(2).build());
        assertTrue(e.getMessage().contains("cannot split its adapters over 2 tensor-parallel ranks"), e.getMessage());
        assertSame(TensorParallelException.class, e.getClass());
    }
}
