package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.GoldenCase;
import org.flexllm.Shared;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.model.Checkpoint;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The real stories260K model against llama2.c's run.c. */
class StoriesTest {
    static final Path MODEL = Shared.resolve("models/stories260K");

    @Test
    void logitsMatchRunC() throws IOException {
        JsonNode trace = read("trace_greedy_once_upon_a_time_n64.json");
        int[] sequence = Arrays.copyOf(GoldenCase.ids(trace.get("sequence")), 64);
        byte[] raw = Files.readAllBytes(MODEL.resolve("reference/logits_once_upon_a_time_64pos.f32"));
        var data = java.lang.foreign.MemorySegment.ofBuffer(ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN));
        Tensor expected = new Tensor("run.c logits", DType.F32, Shape.of(64, 512), data);
        try (Checkpoint checkpoint = Checkpoint.load(MODEL);
             var runner = new SingleSequence(checkpoint.config(), checkpoint.weights(), 64)) {
            GoldenLogitsTest.assertClose(expected, runner.logits(sequence, 64), "stories260K");
        }
    }

    static Stream<String> traces() {
        return Stream.of("trace_greedy_once_upon_a_time_n64.json", "trace_greedy_noprompt_n200.json");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("traces")
    void greedyTokensMatchRunC(String traceFile) throws IOException {
        JsonNode trace = read(traceFile);
        int[] prompt = GoldenCase.ids(trace.get("prompt_tokens"));
        int[] sequence = GoldenCase.ids(trace.get("sequence"));
        int steps = trace.get("steps").asInt();
        var params = SamplingParams.builder().temperature(0).maxTokens(steps + 1 - prompt.length).build();
        try (LlmEngine engine = LlmEngine.builder().model(MODEL).build()) {
            List<Integer> generated = engine.generate(GenerationRequest.of(Prompt.ids(prompt)).withParams(params))
                    .ids();
            List<Integer> expected = Arrays.stream(sequence, prompt.length, sequence.length).boxed().toList();
            assertEquals(expected, generated);
        }
    }

    static Stream<Arguments> texts() {
        return Stream.of(
                Arguments.of("greedy_once_upon_a_time_n64.txt", "Once upon a time", 64),
                Arguments.of("greedy_once_upon_a_time_n256.txt", "Once upon a time", 256),
                Arguments.of("greedy_noprompt_n200.txt", "", 200),
                Arguments.of("greedy_zoo_n60.txt", "Zoo", 60));
    }

    /** run.c prints the prompt, then each token as it is generated, then a newline. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("texts")
    void greedyTextMatchesRunC(String file, String prompt, int steps) throws IOException {
        String expected = Files.readString(MODEL.resolve("reference").resolve(file));
        try (LlmEngine engine = LlmEngine.builder().model(MODEL).build()) {
            int promptTokens = engine.encode(Prompt.text(prompt)).length;
            var params = SamplingParams.builder().temperature(0).maxTokens(steps + 1 - promptTokens).build();
            String text = engine.generate(GenerationRequest.of(prompt).withParams(params)).text();
            assertEquals(expected, prompt + text + "\n");
        }
    }

    private static JsonNode read(String file) throws IOException {
        return new ObjectMapper().readTree(MODEL.resolve("reference").resolve(file).toFile());
    }
}
