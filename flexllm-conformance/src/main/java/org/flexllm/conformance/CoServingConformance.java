package org.flexllm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.flexllm.Shared;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.engine.EngineClock;
import org.flexllm.engine.IterationRecord;
import org.flexllm.graph.Projection;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.peft.train.StepRecord;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.flexllm.schedule.Policy;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A co-served run on stories260K: greedy requests on the base model while a LoRA job trains in the same iterations
 * get the tokens they get with no job, and the job's loss falls. The clock is simulated and the latency model fixed,
 * so that the plans (and so the batches) do not depend on the machine's speed.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public class CoServingConformance {
    private static final Path STORIES = Shared.stories260K();
    private static final List<String> PROMPTS = List.of("Once upon a time", "Lily had a", "The dog", "Tom and");
    private static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little girl named Lily. She loved to play in the park.",
            "Tom had a big red ball. He liked to kick it with his friend Sue.");
    private static final SamplingParams GREEDY =
            SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build();
    /** Fits a decode batch and a training window under the SLO below, so that both run in one iteration. */
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.3).build());

    @Parameter
    String backendName;

    @TempDir
    Path temp;

    @BeforeEach
    void assumeAvailable() {
        Conformance.assumeAvailable(backendName);
    }

    private EngineBuilder engine() {
        return LlmEngine.builder().model(STORIES).backend(backendName).tokenBudget(32).clock(EngineClock.simulated())
                .latencyModel(LATENCY).slo(new Slo(200, 10));
    }

    @Test
    void requestsBesideATrainingJobGetTheirTokensAloneAndTheLossFalls() throws Exception {
        List<List<Integer>> alone;
        try (LlmEngine engine = engine().build()) {
            alone = PROMPTS.stream().map(p -> engine.generate(GenerationRequest.of(p).withParams(GREEDY)).ids())
                    .toList();
        }
        List<IterationRecord> iterations = new CopyOnWriteArrayList<>();
        try (AdapterRegistry registry = AdapterRegistry.create(1, 8);
             LlmEngine engine = engine().adapters(registry).policy(Policy.COSERVE).maxFinetuneTokens(64)
                     .onIteration(iterations::add).build()) {
            List<TrainingExample> data = TEXTS.stream()
                    .map(t -> TrainingExample.allTrained(engine.encode(Prompt.text(t)))).toList();
            FinetuneOptions options = FinetuneOptions.builder()
                    .adapter(AdapterConfig.builder().r(8).loraAlpha(16).targets(EnumSet.allOf(Projection.class)).build())
                    .optimizer(FinetuneOptions.OptimizerKind.ADAMW).lr(1e-2).seed(7).maxSeqLen(64).steps(12).build();
            FinetuneJob job = Finetuner.builder().data(data).options(options).output(temp.resolve("job"))
                    .coServe(engine, registry).name("job").start();
            List<CompletableFuture<GenerationResult>> served = PROMPTS.stream()
                    .map(p -> engine.submit(GenerationRequest.of(p).withParams(GREEDY))).toList();
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertEquals(alone.get(i), served.get(i).join().ids(), "request " + i + " beside the job");
            }
            job.await();
            List<StepRecord> steps = job.history();
            assertEquals(12, steps.size());
            // A step is one sample, the two texts in turn: compare the first round of both with the last.
            double first = steps.get(0).loss() + steps.get(1).loss();
            double last = steps.get(10).loss() + steps.get(11).loss();
            assertTrue(last < 0.5 * first, "the loss of the two samples went from " + first + " to " + last);
        }
        assertTrue(iterations.stream().anyMatch(r -> r.composition().finetuneTokens() > 0
                && r.composition().decodeTokens() > 0), "training windows rode beside decodes");
    }
}
