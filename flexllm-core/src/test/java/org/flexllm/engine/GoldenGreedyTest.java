package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.flexllm.Shared;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Greedy continuations of the golden models through the engine (KV-cache decoding), all prompts at once. */
class GoldenGreedyTest {

    static Stream<Path> folders() {
        return Shared.goldenModelFolders().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("folders")
    void continuationsMatchExactly(Path folder) throws IOException {
        boolean bf16 = folder.getFileName().toString().equals("bf16");
        Path caseDir = bf16 ? folder.getParent() : folder;
        JsonNode inputs = new ObjectMapper().readTree(caseDir.resolve("reference/inputs.json").toFile());
        JsonNode expected = inputs.get(bf16 ? "greedy_continuations_bf16" : "greedy_continuations");
        var params = SamplingParams.builder().temperature(0).maxTokens(inputs.get("max_new_tokens").asInt())
                .ignoreEos(true).build();
        try (LlmEngine engine = LlmEngine.builder().model(folder).build()) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (JsonNode prompt : inputs.get("prompts")) {
                Prompt ids = Prompt.ids(GoldenLogitsTest.ids(prompt));
                futures.add(engine.submit(GenerationRequest.of(ids).withParams(params)));
            }
            for (int i = 0; i < futures.size(); i++) {
                List<Integer> want = Arrays.stream(GoldenLogitsTest.ids(expected.get(i))).boxed().toList();
                assertEquals(want, futures.get(i).join().ids(), folder + " prompt " + i);
            }
        }
    }
}
