package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Greedy continuations of the golden models through the engine (KV-cache decoding), all prompts at once. */
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GoldenGreedyTest {

    static Stream<GoldenCase> cases() {
        return GoldenCase.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void continuationsMatchExactly(GoldenCase golden) {
        JsonNode inputs = golden.inputs();
        JsonNode expected = inputs.get(golden.key("greedy_continuations"));
        var params = SamplingParams.builder().temperature(0).maxTokens(inputs.get("max_new_tokens").asInt())
                .ignoreEos(true).build();
        try (LlmEngine engine = LlmEngine.builder().model(golden.folder()).build()) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (JsonNode prompt : inputs.get("prompts")) {
                Prompt ids = Prompt.ids(GoldenCase.ids(prompt));
                futures.add(engine.submit(GenerationRequest.of(ids).withParams(params)));
            }
            for (int i = 0; i < futures.size(); i++) {
                List<Integer> want = Arrays.stream(GoldenCase.ids(expected.get(i))).boxed().toList();
                assertEquals(want, futures.get(i).join().ids(), golden + " prompt " + i);
            }
        }
    }
}
