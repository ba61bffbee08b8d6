package org.flexllm.examples.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.engine.EngineClock;
import org.flexllm.graph.Projection;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.flexllm.schedule.Policy;

/**
 * A process that serves requests while a co-served LoRA job trains, for tests that run it as a child JVM (and kill
 * it): {@code MODEL OUT STEPS IN_FLIGHT RESUME}. It keeps {@code IN_FLIGHT} greedy requests running until the job
 * has written its adapter to OUT (a checkpoint after every step; {@code RESUME} {@code true} continues from OUT's
 * last one), then waits for every request it accepted. On stdout: {@code first-step N}, {@code checkpoint N} once
 * each checkpoint is on disk, {@code accepted A completed C}, C counting the requests that ended with all their
 * tokens, and last {@code logprobs ...}, the exact log-probabilities of a prefill of the base model. With a simulated clock and a fixed latency model, the engine cuts the job's work the same way on
 * any machine; with no requests in flight it cuts it the same way in every run.
 */
final class CoServingProcess {
    /** Tokens each request generates, EOS ignored. */
    static final int REQUEST_TOKENS = 24;
    private static final int MAX_SEQ_LEN = 64;
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder().iteration(4)
            .decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.3).build());
    private static final long DEADLINE_S = 120;

    private CoServingProcess() {}

    public static void main(String[] args) throws Exception {
        String model = args[0];
        Path out = Path.of(args[1]);
        int steps = Integer.parseInt(args[2]);
        int inFlight = Integer.parseInt(args[3]);
        boolean resume = Boolean.parseBoolean(args[4]);
        try (AdapterRegistry registry = AdapterRegistry.create(2, 8);
             LlmEngine engine = LlmEngine.builder().model(model).adapters(registry).policy(Policy.COSERVE)
                     .tokenBudget(16).maxFinetuneTokens(MAX_SEQ_LEN).clock(EngineClock.simulated())
                     .latencyModel(LATENCY).slo(new Slo(200, 10)).build();
             FinetuneJob job = Finetuner.builder().data(samples(engine.config().vocabSize())).options(options(steps))
                     .output(out).resume(resume).coServe(engine, registry).name("job")
                     .onCheckpoint(c -> System.out.println("checkpoint " + c.step())).start()) {
            System.out.println("first-step " + job.firstStep());
            List<CompletableFuture<GenerationResult>> accepted = serveUntil(engine, inFlight, job.result());
            job.result().get(DEADLINE_S, TimeUnit.SECONDS);
            System.out.println("accepted " + accepted.size() + " completed " + completed(accepted));
            System.out.println("logprobs " + logprobs(engine));
        }
    }

    /** The base model's log-probabilities of 96 random tokens, each float's exact bits in hexadecimal. */
    private static String logprobs(LlmEngine engine) {
        int[] ids = new Random(5).ints(96, 1, engine.config().vocabSize()).toArray();
        return engine.score(ids, 0).logprobs().stream().skip(1).map(t -> Float.toHexString(t.logprob()))
                .collect(Collectors.joining(" "));
    }

    /** SGD with momentum on every projection, dropout on: a resume that lost any state would show. */
    private static FinetuneOptions options(int steps) {
        return FinetuneOptions.builder().adapter(AdapterConfig.builder().r(4).loraAlpha(8).loraDropout(0.1)
                        .targets(EnumSet.allOf(Projection.class)).build())
                .optimizer(FinetuneOptions.OptimizerKind.SGD).lr(0.05).momentum(0.9).seed(7).maxSeqLen(MAX_SEQ_LEN)
                .steps(steps).checkpointEvery(1).build();
    }

    /** Eight samples of 20 to 60 random tokens, fixed by a seed. */
    private static List<TrainingExample> samples(int vocab) {
        Random random = new Random(3);
        List<TrainingExample> samples = new ArrayList<>();
        for (int s = 0; s < 8; s++) {
            samples.add(TrainingExample.allTrained(random.ints(20 + random.nextInt(41), 1, vocab).toArray()));
        }
        return samples;
    }

    /** Keeps {@code inFlight} requests running until {@code until} completes; the futures of all it submitted. */
    private static List<CompletableFuture<GenerationResult>> serveUntil(LlmEngine engine, int inFlight,
            CompletableFuture<?> until) throws InterruptedException {
        Semaphore slots = new Semaphore(inFlight);
        List<CompletableFuture<GenerationResult>> accepted = new ArrayList<>();
        while (!until.isDone()) {
            if (slots.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                int i = accepted.size();
                CompletableFuture<GenerationResult> f = engine.submit(GenerationRequest.of(
                        Prompt.ids(new int[] {1 + i % 7, 2 + i % 5, 3})).withParams(SamplingParams.builder()
                        .temperature(0).maxTokens(REQUEST_TOKENS).ignoreEos(true).build()));
                accepted.add(f);
                f.whenComplete((r, e) -> slots.release());
            }
        }
        return accepted;
    }

    /** The requests that ended with all their tokens, waiting for them up to the deadline. */
    private static long completed(List<CompletableFuture<GenerationResult>> accepted) throws InterruptedException {
        try {
            CompletableFuture.allOf(accepted.toArray(CompletableFuture[]::new)).get(DEADLINE_S, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Counted below: a failed or unfinished request is not completed.
        }
        return accepted.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()
                && f.join().ids().size() == REQUEST_TOKENS).count();
    }
}
