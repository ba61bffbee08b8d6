package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.flexllm.FlexLlmException;
import org.flexllm.Shared;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.engine.EngineClock;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.speculation.SpeculatorFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Speculative decoding in the engine, every policy and draft source: greedy output equals the golden models'
 * references and run.c's on stories260K, token for token, with requests of different SLOs batched together.
 */
class EngineSpeculationTest {
    private static final Path STORIES = Shared.resolve("models/stories260K");
    private static final TreeShape CHAIN = TreeShape.chain(4);
    private static final TreeShape TREE = TreeShape.tree(2, 3);
    private static final TreeShape CANDIDATES = new TreeShape(3, 4, 3);
    /**
     * Fixed costs (tree tokens nearly free, as on a memory-bound machine, so that AdaServe verifies even unlikely
     * nodes) and a clock that moves by them: the trees' budget and AdaServe's needs do not depend on how fast
     * the machine is today.
     */
    private static final LinearLatencyModel.Coefficients COSTS = LinearLatencyModel.Coefficients.builder()
            .iteration(1).pass(1).decodeToken(0.05).prefillToken(0.05).treeToken(0.001).build();

    private static EngineBuilder engine(Path model, SimpleMeterRegistry meters, SpeculatorFactory speculation) {
        return LlmEngine.builder().model(model).meterRegistry(meters).speculation(speculation)
                .latencyModel(LinearLatencyModel.fixed(COSTS)).clock(EngineClock.simulated());
    }

    /** A golden model (f32) with its prompts and greedy continuations. */
    record Golden(Path folder, List<int[]> prompts, List<int[]> continuations, int maxNewTokens) {
        static Golden of(Path folder) {
            JsonNode inputs = read(folder.resolve("reference/inputs.json"));
            List<int[]> prompts = new ArrayList<>();
            List<int[]> continuations = new ArrayList<>();
            for (int i = 0; i < inputs.get("prompts").size(); i++) {
                prompts.add(ids(inputs.get("prompts").get(i)));
                continuations.add(ids(inputs.get("greedy_continuations").get(i)));
            }
            return new Golden(folder, prompts, continuations, inputs.get("max_new_tokens").asInt());
        }

        List<int[]> references() {
            List<int[]> references = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                references.add(IntStream.concat(IntStream.of(prompts.get(i)), IntStream.of(continuations.get(i)))
                        .toArray());
            }
            return references;
        }

        @Override
        public String toString() {
            return folder.getFileName().toString();
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Path folder : Shared.goldenModelFolders()) {
            if (folder.getFileName().toString().equals("bf16")) {
                continue;
            }
            Golden g = Golden.of(folder);
            cases.add(Arguments.of(g, "chain ngram", Speculators.of(new DraftSpec.Ngram(3), SpecPolicy.CHAIN, CHAIN)));
            cases.add(Arguments.of(g, "tree layers:1", Speculators.of(new DraftSpec.Layers(1), SpecPolicy.TREE,
                    TREE)));
            cases.add(Arguments.of(g, "adaserve oracle:0.6", Speculators.oracle(0.6, SpecPolicy.ADASERVE,
                    CANDIDATES, g.references(), 7)));
            cases.add(Arguments.of(g, "adaserve draft folder", Speculators.of(new DraftSpec.Model(folder),
                    SpecPolicy.ADASERVE, CANDIDATES)));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void greedyOutputIsTheGoldenContinuation(Golden golden, String name, SpeculatorFactory speculation) {
        var params = SamplingParams.builder().temperature(0).maxTokens(golden.maxNewTokens()).ignoreEos(true).build();
        var meters = new SimpleMeterRegistry();
        try (LlmEngine engine = engine(golden.folder(), meters, speculation).build()) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int[] prompt : golden.prompts()) {
                futures.add(engine.submit(GenerationRequest.of(Prompt.ids(prompt)).withParams(params)));
            }
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(boxed(golden.continuations().get(i)), join(futures.get(i)).ids(), "prompt " + i);
            }
        }
        assertTrue(meters.counter("flexllm.spec.tree_tokens").count() > 0, "trees were verified");
    }

    static Stream<Arguments> storiesDrafts() {
        return Stream.of(
                Arguments.of("adaserve layers:2", Speculators.of(new DraftSpec.Layers(2), SpecPolicy.ADASERVE,
                        CANDIDATES), 1),
                Arguments.of("chain ngram", Speculators.of(new DraftSpec.Ngram(3), SpecPolicy.CHAIN, CHAIN), 1),
                // Trees verified on two tensor-parallel ranks, the early-exit draft run whole on rank 0's backend.
                Arguments.of("adaserve layers:2 on 2 ranks", Speculators.of(new DraftSpec.Layers(2),
                        SpecPolicy.ADASERVE, CANDIDATES), 2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storiesDrafts")
    void storiesMatchesRunCWithRequestsOfDifferentSlos(String name, SpeculatorFactory speculation, int ranks) {
        JsonNode trace = read(STORIES.resolve("reference/trace_greedy_noprompt_n200.json"));
        int[] prompt = ids(trace.get("prompt_tokens"));
        int[] sequence = ids(trace.get("sequence"));
        var params = SamplingParams.builder().temperature(0).maxTokens(trace.get("steps").asInt() + 1 - prompt.length)
                .build();
        List<Slo> slos = List.of(new Slo(5000, 5), new Slo(5000, 50), new Slo(5000, 500));
        var meters = new SimpleMeterRegistry();
        try (LlmEngine engine = engine(STORIES, meters, speculation).tensorParallel(ranks).build()) {
            List<CompletableFuture<GenerationResult>> futures = slos.stream().map(slo -> engine.submit(
                    GenerationRequest.of(Prompt.ids(prompt)).withParams(params).withSlo(slo))).toList();
            List<Integer> expected = IntStream.range(prompt.length, sequence.length).mapToObj(i -> sequence[i])
                    .toList();
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(expected, join(futures.get(i)).ids(), "request with " + slos.get(i));
            }
        }
        assertTrue(meters.counter("flexllm.spec.accepted_tokens").count() > 0, "drafted tokens were accepted: "
                + meters.counter("flexllm.spec.accepted_tokens").count() + " of "
                + meters.counter("flexllm.spec.tree_tokens").count());
    }

    @Test
    void treesCutToTheContextLimitStillVerify() {
        JsonNode trace = read(STORIES.resolve("reference/trace_greedy_once_upon_a_time_n64.json"));
        int[] prompt = ids(trace.get("prompt_tokens"));
        int[] sequence = ids(trace.get("sequence"));
        // Every chain of 12 is accepted with its bonus, so the sequence grows 13 tokens an iteration from the first
        // token on: with this limit the fourth chain does not fit and is cut, while the oracle (always right) keeps
        // proposing right tokens past the cut; verification must stop where the cut does.
        int limit = prompt.length + 1 + 3 * 13 + 6;
        var params = SamplingParams.builder().temperature(0).maxTokens(limit - prompt.length).build();
        var meters = new SimpleMeterRegistry();
        try (LlmEngine engine = engine(STORIES, meters, Speculators.oracle(1.0, SpecPolicy.CHAIN, TreeShape.chain(12),
                List.of(sequence), 1)).maxModelLen(limit).build()) {
            GenerationResult r = join(engine.submit(GenerationRequest.of(Prompt.ids(prompt)).withParams(params)));
            assertEquals(IntStream.range(prompt.length, limit).mapToObj(i -> sequence[i]).toList(), r.ids());
        }
        double verifications = meters.summary("flexllm.spec.accepted_length").count();
        assertTrue(verifications < (limit - prompt.length) / 6.0, "long chains were accepted: " + verifications
                + " verifications for " + (limit - prompt.length) + " tokens");
    }

    @Test
    void badDraftsAreRefusedWithTheirReason() {
        var tooDeep = assertThrows(IllegalArgumentException.class, () -> LlmEngine.builder().model(STORIES)
                .speculation(Speculators.of(new DraftSpec.Layers(5), SpecPolicy.CHAIN, CHAIN)).build().close());
        assertTrue(tooDeep.getMessage().contains("layers:5"), tooDeep.getMessage());
        Path otherVocabulary = Shared.goldenModelFolders().get(0);
        var vocabulary = assertThrows(FlexLlmException.class, () -> LlmEngine.builder().model(STORIES)
                .speculation(Speculators.of(new DraftSpec.Model(otherVocabulary), SpecPolicy.CHAIN, CHAIN)).build()
                .close());
        assertTrue(vocabulary.getMessage().contains("vocabulary"), vocabulary.getMessage());
        var oracle = assertThrows(InvalidSpeculationException.class,
                () -> Speculators.of(new DraftSpec.Oracle(0.7), SpecPolicy.CHAIN, CHAIN));
        assertTrue(oracle.getMessage().contains("benchmarks only"), oracle.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Slo(1000, 0));
    }

    private static GenerationResult join(CompletableFuture<GenerationResult> future) {
        return future.orTimeout(120, TimeUnit.SECONDS).join();
    }

    private static List<Integer> boxed(int[] ids) {
        return IntStream.of(ids).boxed().toList();
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    private static JsonNode read(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
