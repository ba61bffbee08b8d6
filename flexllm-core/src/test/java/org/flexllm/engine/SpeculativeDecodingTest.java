package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.flexllm.Shared;
import org.flexllm.GoldenCase;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Greedy decoding with speculation emits exactly what it emits without: on the golden models against their
 * references, on stories260K against run.c (on one rank and under tensor parallelism), and for requests of
 * different SLOs batched together.
 */
class SpeculativeDecodingTest {
    private static final int DEPTH = 4;

    static Stream<GoldenCase> cases() {
        return GoldenCase.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void goldenContinuationsMatchExactly(GoldenCase golden) {
        JsonNode inputs = golden.inputs();
        JsonNode expected = inputs.get(golden.key("greedy_continuations"));
        JsonNode prompts = inputs.get("prompts");
        List<int[]> references = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            references.add(concat(GoldenCase.ids(prompts.get(i)), GoldenCase.ids(expected.get(i))));
        }
        var params = SamplingParams.builder().temperature(0).maxTokens(inputs.get("max_new_tokens").asInt())
                .ignoreEos(true).build();
        var meters = new SimpleMeterRegistry();
        var made = new AtomicReference<ReferenceSpeculator>();
        try (LlmEngine engine = LlmEngine.builder().model(golden.folder()).meterRegistry(meters)
                .speculation(target -> {
                    made.set(new ReferenceSpeculator(references, DEPTH, target.model().config().vocabSize()));
                    return made.get();
                }).build()) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                futures.add(engine.submit(GenerationRequest.of(Prompt.ids(GoldenCase.ids(prompts.get(i))))
                        .withParams(params)));
            }
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(boxed(GoldenCase.ids(expected.get(i))), join(futures.get(i)).ids(),
                        golden + " prompt " + i);
            }
        }
        ReferenceSpeculator speculator = made.get();
        assertTrue(speculator.drafted.get() > 0, "trees were drafted");
        assertEquals(0, speculator.overBudget.get(), "the test speculator kept to its budget");
        double accepted = meters.counter("flexllm.spec.accepted_tokens").count();
        assertTrue(accepted > 0 && accepted < speculator.drafted.get(),
                "some drafted tokens accepted, some rejected: " + accepted + " of " + speculator.drafted.get());
    }

    /** On one rank, and on two tensor-parallel ranks, where every rank's cache keeps the accepted paths. */
    @ParameterizedTest(name = "tp={0}")
    @ValueSource(ints = {1, 2})
    void storiesMatchesRunCWithRequestsOfDifferentSlos(int ranks) throws IOException {
        Path model = Shared.stories260K();
        JsonNode trace = new ObjectMapper().readTree(model.resolve("reference/trace_greedy_noprompt_n200.json")
                .toFile());
        int[] prompt = GoldenCase.ids(trace.get("prompt_tokens"));
        int[] sequence = GoldenCase.ids(trace.get("sequence"));
        int steps = trace.get("steps").asInt();
        var params = SamplingParams.builder().temperature(0).maxTokens(steps + 1 - prompt.length).build();
        var speculator = new ReferenceSpeculator(List.of(sequence), DEPTH, 512);
        List<Slo> slos = List.of(new Slo(5000, 20), new Slo(5000, 100), new Slo(5000, 1000));
        // A fixed latency model, so that the trees' budget under each SLO does not depend on this machine's speed.
        var latency = LinearLatencyModel.fixed(LinearLatencyModel.Coefficients.builder().iteration(2).decodeToken(0.5)
                .prefillToken(0.05).treeToken(0.5).build());
        try (LlmEngine engine = LlmEngine.builder().model(model).tensorParallel(ranks).latencyModel(latency)
                .speculation(target -> speculator).build()) {
            List<CompletableFuture<GenerationResult>> futures = slos.stream()
                    .map(slo -> engine.submit(GenerationRequest.of(Prompt.ids(prompt)).withParams(params)
                            .withSlo(slo)))
                    .toList();
            List<Integer> expected = IntStream.range(prompt.length, sequence.length).mapToObj(i -> sequence[i])
                    .toList();
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(expected, join(futures.get(i)).ids(), "request with " + slos.get(i));
            }
        }
        assertTrue(speculator.drafted.get() > 0, "trees were drafted");
    }

    @Test
    void aRequestThatOptsOutIsNeverDrafted() {
        int[] prompt = {1, 2, 3};
        var params = SamplingParams.builder().temperature(0).maxTokens(8).build();
        var speculator = new ReferenceSpeculator(List.of(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), DEPTH,
                512);
        try (LlmEngine engine = LlmEngine.builder().model(Shared.stories260K()).speculation(target -> speculator)
                .build()) {
            var request = GenerationRequest.of(Prompt.ids(prompt)).withParams(params).withSpeculation(false);
            assertEquals(8, join(engine.submit(request)).ids().size());
        }
        assertEquals(0, speculator.drafted.get(), "no tree for a request that opted out");
    }

    private static GenerationResult join(CompletableFuture<GenerationResult> future) {
        return future.orTimeout(120, TimeUnit.SECONDS).join();
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    private static List<Integer> boxed(int[] ids) {
        return IntStream.of(ids).boxed().toList();
    }
}
