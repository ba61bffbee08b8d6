package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flexllm.Shared;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How the KV cache's size limits the context. That batching, chunking and preemption never change the tokens is
 * checked on every backend by flexllm-conformance's EngineConformance.
 */
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ContinuousBatchingTest {
    private static final SamplingParams GREEDY =
            SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build();
    private static final List<int[]> PROMPTS = prompts();

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
        return LlmEngine.builder().model(Shared.stories260K());
    }

    private static GenerationRequest request(int[] prompt) {
        return GenerationRequest.of(Prompt.ids(prompt)).withParams(GREEDY);
    }

    @Test
    void aKvCacheSmallerThanTheContextLimitsSequencesToWhatItHolds() {
        try (LlmEngine engine = stories().kvCacheBytes(PagedKvCache.bytesPerToken(
                Checkpoint.load(Shared.stories260K()).config()) * 64).blockSize(16).build()) {
            assertEquals(64, engine.maxModelLen());
            var error = assertThrows(PromptTooLongException.class, () -> engine.submit(request(new int[100])));
            assertTrue(error.getMessage().contains("is 64 tokens"), error.getMessage());
            List<Integer> alone;
            try (LlmEngine roomy = stories().build()) {
                alone = roomy.generate(request(PROMPTS.get(2))).ids();
            }
            assertEquals(alone, engine.submit(request(PROMPTS.get(2))).join().ids());
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
