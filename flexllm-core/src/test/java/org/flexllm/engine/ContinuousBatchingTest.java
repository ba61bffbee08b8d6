package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Batching, chunking and preemption change when tokens are computed, never which tokens come out. */
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ContinuousBatchingTest {
    private static final SamplingParams GREEDY =
            SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build();
    private static final List<int[]> PROMPTS = prompts();
    private static List<List<Integer>> alone;

    private static List<int[]> prompts() {
        Random random = new Random(7);
        List<int[]> prompts = new ArrayList<>();
        for (int length : new int[] {1, 3, 9, 17, 30, 45, 64, 80}) {
            int[] p = random.ints(length, 3, 512).toArray();
            p[0] = 1;
            prompts.add(p);
        }
        return prompts;
    }

    private static EngineBuilder stories() {
        return LlmEngine.builder().model(StoriesTest.MODEL);
    }

    @BeforeAll
    static void eachRequestAlone() {
        alone = new ArrayList<>();
        try (LlmEngine engine = stories().maxSequences(1).build()) {
            for (int[] p : PROMPTS) {
                alone.add(engine.generate(request(p)).ids());
            }
        }
    }

    private static GenerationRequest request(int[] prompt) {
        return GenerationRequest.of(Prompt.ids(prompt)).withParams(GREEDY);
    }

    private static List<GenerationResult> allAtOnce(LlmEngine engine) {
        List<CompletableFuture<GenerationResult>> futures = PROMPTS.stream()
                .map(p -> engine.submit(request(p))).toList();
        return futures.stream().map(CompletableFuture::join).toList();
    }

    @Test
    void concurrentRequestsGetTheTokensTheyGetAlone() {
        try (LlmEngine engine = stories().build()) {
            List<GenerationResult> results = allAtOnce(engine);
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertEquals(alone.get(i), results.get(i).ids(), "request " + i);
            }
        }
    }

    @Test
    void smallTokenBudgetChunksPrefillsBetweenDecodes() {
        try (LlmEngine engine = stories().tokenBudget(7).build()) {
            List<GenerationResult> results = allAtOnce(engine);
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertEquals(alone.get(i), results.get(i).ids(), "request " + i);
            }
        }
    }

    @Test
    void kvCacheTooSmallForAllPreemptsAndStillCompletesEveryRequest() throws Exception {
        long twoLongestRequests;
        try (Checkpoint c = Checkpoint.load(StoriesTest.MODEL)) {
            twoLongestRequests = PagedKvCache.bytesPerToken(c.config()) * 2 * (80 + 40 + 16);
        }
        try (LlmEngine engine = stories().kvCacheBytes(twoLongestRequests).build()) {
            List<GenerationResult> results = allAtOnce(engine);
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertEquals(alone.get(i), results.get(i).ids(), "request " + i);
            }
            assertTrue(results.stream().mapToInt(GenerationResult::preemptions).sum() > 0,
                    "the cache was meant to be too small to hold every request at once");
        }
    }

    @Test
    void aKvCacheSmallerThanTheContextLimitsSequencesToWhatItHolds() {
        try (LlmEngine engine = stories().kvCacheBytes(PagedKvCache.bytesPerToken(
                Checkpoint.load(StoriesTest.MODEL).config()) * 64).blockSize(16).build()) {
            assertEquals(64, engine.maxModelLen());
            var error = assertThrows(PromptTooLongException.class, () -> engine.submit(request(new int[100])));
            assertTrue(error.getMessage().contains("is 64 tokens"), error.getMessage());
            assertEquals(alone.get(2), engine.submit(request(PROMPTS.get(2))).join().ids());
        }
    }

    @Test
    void promptLongerThanTheContextIsRefusedAtSubmission() {
        try (LlmEngine engine = stories().maxModelLen(32).build()) {
            var error = assertThrows(PromptTooLongException.class, () -> engine.submit(request(new int[32])));
            assertTrue(error.getMessage().contains("32 tokens"), error.getMessage());
        }
    }
}
