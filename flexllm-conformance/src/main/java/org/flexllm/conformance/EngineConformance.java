package org.flexllm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.flexllm.GoldenCase;
import org.flexllm.Shared;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.ScoreResult;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenLogprob;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole models through the engine on the backend: the golden models' log-probabilities and greedy tokens
 * against HF transformers' float64 references, stories260K against llama2.c's run.c, and the equivalences of
 * continuous batching (a request alone, in a batch, in prefill chunks, preempted and recomputed: the same tokens).
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public class EngineConformance {
    /** The references' logits are matched within 1e-4; a log-softmax adds the error of its normalizer. */
    private static final double LOGPROB_TOLERANCE = 2e-4;
    private static final Path STORIES = Shared.stories260K();

    @Parameter
    String backendName;

    @BeforeEach
    void assumeAvailable() {
        Conformance.assumeAvailable(backendName);
    }

    private EngineBuilder engine(Path model) {
        return LlmEngine.builder().model(model).backend(backendName);
    }

    static Stream<GoldenCase> goldenCases() {
        return GoldenCase.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void goldenGreedyContinuationsMatchExactly(GoldenCase golden) {
        JsonNode inputs = golden.inputs();
        JsonNode expected = inputs.get(golden.key("greedy_continuations"));
        var params = SamplingParams.builder().temperature(0).maxTokens(inputs.get("max_new_tokens").asInt())
                .ignoreEos(true).build();
        try (LlmEngine engine = engine(golden.folder()).build()) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (JsonNode prompt : inputs.get("prompts")) {
                futures.add(engine.submit(GenerationRequest.of(Prompt.ids(GoldenCase.ids(prompt))).withParams(params)));
            }
            for (int i = 0; i < futures.size(); i++) {
                List<Integer> want = Arrays.stream(GoldenCase.ids(expected.get(i))).boxed().toList();
                assertEquals(want, futures.get(i).join().ids(), golden + " prompt " + i);
            }
        }
    }

    /** Every position's whole distribution, the prompt in one pass and in prefill chunks of 5 tokens. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void goldenLogProbabilitiesMatchTheReferenceOneShotAndChunked(GoldenCase golden) {
        try (Arena arena = Arena.ofConfined();
             LlmEngine oneShot = engine(golden.folder()).build();
             LlmEngine chunked = engine(golden.folder()).tokenBudget(5).build()) {
            var reference = SafetensorsFile.open(golden.caseDir().resolve("reference/logits.safetensors"), arena);
            JsonNode prompts = golden.inputs().get("prompts");
            for (int i = 0; i < prompts.size(); i++) {
                int[] ids = GoldenCase.ids(prompts.get(i));
                Tensor logits = reference.get(golden.key("logits") + "." + i).orElseThrow();
                assertLogProbabilities(logits, oneShot.score(ids, logits.cols()), golden + " prompt " + i);
                assertLogProbabilities(logits, chunked.score(ids, logits.cols()), golden + " prompt " + i + " chunked");
            }
        }
    }

    /** run.c's logits over the first 64 positions of its greedy story. */
    @Test
    void storiesLogProbabilitiesMatchRunC() throws IOException {
        int[] sequence = Arrays.copyOf(GoldenCase.ids(readTrace("trace_greedy_once_upon_a_time_n64.json")
                .get("sequence")), 64);
        byte[] raw = Files.readAllBytes(STORIES.resolve("reference/logits_once_upon_a_time_64pos.f32"));
        var data = MemorySegment.ofBuffer(ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN));
        Tensor logits = new Tensor("run.c logits", DType.F32, Shape.of(64, 512), data);
        try (LlmEngine engine = engine(STORIES).build()) {
            assertLogProbabilities(logits, engine.score(sequence, 512), "stories260K");
        }
    }

    static Stream<String> traces() {
        return Stream.of("trace_greedy_once_upon_a_time_n64.json", "trace_greedy_noprompt_n200.json");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("traces")
    void storiesGreedyTokensMatchRunC(String traceFile) throws IOException {
        JsonNode trace = readTrace(traceFile);
        int[] prompt = GoldenCase.ids(trace.get("prompt_tokens"));
        int[] sequence = GoldenCase.ids(trace.get("sequence"));
        var params = SamplingParams.builder().temperature(0).maxTokens(trace.get("steps").asInt() + 1 - prompt.length)
                .build();
        try (LlmEngine engine = engine(STORIES).build()) {
            List<Integer> generated = engine.generate(GenerationRequest.of(Prompt.ids(prompt)).withParams(params)).ids();
            assertEquals(Arrays.stream(sequence, prompt.length, sequence.length).boxed().toList(), generated, traceFile);
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
    void storiesGreedyTextMatchesRunC(String file, String prompt, int steps) throws IOException {
        String expected = Files.readString(STORIES.resolve("reference").resolve(file));
        try (LlmEngine engine = engine(STORIES).build()) {
            int promptTokens = engine.encode(Prompt.text(prompt)).length;
            var params = SamplingParams.builder().temperature(0).maxTokens(steps + 1 - promptTokens).build();
            String text = engine.generate(GenerationRequest.of(prompt).withParams(params)).text();
            assertEquals(expected, prompt + text + "\n", file);
        }
    }

    /**
     * Eight prompts of 1-80 tokens, each alone, then all at once: in one batch, in prefill chunks of 7 tokens
     * between the decodes, and in a KV cache that holds only two of them (preempted, recomputed).
     */
    @Test
    void batchingChunkingAndPreemptionGiveTheTokensOfARequestAlone() {
        var greedy = SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build();
        Random random = new Random(7);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int length : new int[] {1, 3, 9, 17, 30, 45, 64, 80}) {
            int[] p = random.ints(length, 3, 512).toArray();
            p[0] = 1;
            requests.add(GenerationRequest.of(Prompt.ids(p)).withParams(greedy));
        }
        List<List<Integer>> alone = new ArrayList<>();
        try (LlmEngine engine = engine(STORIES).maxSequences(1).build()) {
            requests.forEach(r -> alone.add(engine.generate(r).ids()));
        }
        long twoLongestRequests;
        try (Checkpoint c = Checkpoint.load(STORIES)) {
            twoLongestRequests = PagedKvCache.bytesPerToken(c.config()) * 2 * (80 + 40 + 16);
        }
        List<EngineBuilder> setups = List.of(engine(STORIES), engine(STORIES).tokenBudget(7),
                engine(STORIES).kvCacheBytes(twoLongestRequests));
        for (int s = 0; s < setups.size(); s++) {
            try (LlmEngine engine = setups.get(s).build()) {
                List<CompletableFuture<GenerationResult>> futures = requests.stream().map(engine::submit).toList();
                List<GenerationResult> results = futures.stream().map(CompletableFuture::join).toList();
                for (int i = 0; i < requests.size(); i++) {
                    assertEquals(alone.get(i), results.get(i).ids(), "set-up " + s + ", request " + i);
                }
                boolean preempted = results.stream().mapToInt(GenerationResult::preemptions).sum() > 0;
                assertEquals(s == setups.size() - 1, preempted, "set-up " + s + " preempted");
            }
        }
    }

    /**
     * Each scored position's log-probabilities against the log-softmax, in double, of the reference logits of the
     * position before: every alternative returned, which is the whole vocabulary.
     */
    private static void assertLogProbabilities(Tensor logits, ScoreResult score, String what) {
        int vocab = logits.cols();
        assertEquals(logits.rows(), score.ids().size(), what + ": positions");
        double worst = 0;
        for (int t = 1; t < score.ids().size(); t++) {
            double[] expected = logSoftmax(logits, t - 1);
            SampledToken token = score.logprobs().get(t);
            assertEquals(vocab, token.topLogprobs().size(), what + ": alternatives at " + t);
            worst = Math.max(worst, Math.abs(expected[token.id()] - token.logprob()));
            for (TokenLogprob alternative : token.topLogprobs()) {
                worst = Math.max(worst, Math.abs(expected[alternative.id()] - alternative.logprob()));
            }
        }
        if (worst > LOGPROB_TOLERANCE) {
            throw new AssertionError(what + ": max |log-probability error| " + worst + " > " + LOGPROB_TOLERANCE);
        }
    }

    private static double[] logSoftmax(Tensor logits, int row) {
        int vocab = logits.cols();
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits.getFloat((long) row * vocab + v));
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            sum += Math.exp(logits.getFloat((long) row * vocab + v) - max);
        }
        double[] out = new double[vocab];
        for (int v = 0; v < vocab; v++) {
            out[v] = logits.getFloat((long) row * vocab + v) - max - Math.log(sum);
        }
        return out;
    }

    private static JsonNode readTrace(String file) throws IOException {
        return new ObjectMapper().readTree(STORIES.resolve("reference").resolve(file).toFile());
    }
}
