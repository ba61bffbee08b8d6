package org.flexllm.examples.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.graph.Projection;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.optim.LrSchedule;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.peft.train.StepRecord;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.Policy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code flexllm demo}: inference requests stream their answers while a LoRA adapter learns the bundled facts in
 * the same engine iterations; then the adapter and the base model answer the facts' prompts, and a summary gives
 * SLO attainment and finetuning throughput.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Co-serving demo: requests stream their answers while a LoRA adapter trains in the same"
                + " engine iterations, then the adapter answers what it learned.",
                "A few requests run at once, each printing its text as it is generated (a line every 8 tokens,"
                        + " marked [n] for request n); as one ends the next starts. Meanwhile a LoRA adapter learns"
                        + " a handful of made-up facts bundled with the demo ([finetune] lines show its loss), on the"
                        + " compute each iteration has left within the requests' latency targets (SLO). When it is"
                        + " trained, the adapter and the base model answer the facts' prompts greedily; a summary of"
                        + " SLO attainment, latency and finetuning throughput ends the run.",
                "The default model has random weights (no download), so the requests' text is noise; control"
                        + " characters are printed escaped."})
final class DemoCommand implements Callable<Integer> {
    @Mixin
    private BackendOption backend;

    /** The trained adapter's name, in the registry and on the job's meters. */
    private static final String ADAPTER = "facts";
    private static final int LORA_RANK = 16;
    /** Long enough for every bundled fact, prompt and completion. */
    static final int MAX_FACT_TOKENS = 64;
    /** Tokens an answer may take: the longest completion and its EOS, with room to spare. */
    private static final int ANSWER_TOKENS = 24;
    /** Context room for a request's prompt, beyond its generated tokens: the prompts are short. */
    private static final int PROMPT_ROOM = 128;
    /** Progress lines printed over the job. */
    private static final int PROGRESS_LINES = 20;
    /** Steps of a --quick run: enough for the loss to fall and every kind of iteration to occur. */
    static final int QUICK_STEPS = 30;

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", defaultValue = "synthetic:tiny", paramLabel = "DIR",
            description = "A Hugging Face model folder, a GGUF file, or synthetic:NAME[:DTYPE] (smollm-135m, llama-1b,"
                    + " llama-8b-2l, tiny).")
    private String model;

    @Option(names = "--steps", defaultValue = "300", paramLabel = "N",
            description = "Optimizer steps of the adapter's training, one fact per step.")
    private int steps;

    @Option(names = "--quick", description = "A short run that checks the set-up works: " + QUICK_STEPS
            + " steps instead of --steps (the adapter learns few facts in so few).")
    private boolean quick;

    @Option(names = "--lr", defaultValue = "3e-3", paramLabel = "LR", description = "AdamW's learning rate.")
    private double lr;

    @Option(names = "--requests", defaultValue = "3", paramLabel = "N",
            description = "Requests running at once while the adapter trains.")
    private int requests;

    @Option(names = "--max-tokens", defaultValue = "16", paramLabel = "T",
            description = "Tokens of the longest requests; others generate half or three quarters of that.")
    private int maxTokens;

    @Option(names = "--slo-ttft-ms", defaultValue = "200", paramLabel = "MS",
            description = "Each request's time-to-first-token target.")
    private double ttftMs;

    @Option(names = "--slo-tpot-ms", defaultValue = "10", paramLabel = "MS",
            description = "Each request's time-per-output-token target.")
    private double tpotMs;

    @Mixin
    private TensorParallelOption tensorParallel;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (quick) {
            steps = QUICK_STEPS;
        }
        Map.of("--steps", steps, "--requests", requests, "--max-tokens", maxTokens).forEach((option, value) -> {
            if (value < 1) {
                throw new ParameterException(spec.commandLine(), option + " must be at least 1, is " + value);
            }
        });
        PrintWriter out = spec.commandLine().getOut();
        out.println("Loading " + model + " ...");
        out.flush();
        Slo slo = new Slo(ttftMs, tpotMs);
        IterationTally tally = new IterationTally();
        Path adapterDir = Files.createTempDirectory("flexllm-demo-adapter");
        try (AdapterRegistry registry = AdapterRegistry.create(2, LORA_RANK);
             LlmEngine engine = tensorParallel.apply(LlmEngine.builder().model(model)).adapters(registry)
                     .policy(Policy.COSERVE).slo(slo)
                     .maxFinetuneTokens(MAX_FACT_TOKENS).maxModelLen(PROMPT_ROOM + Math.max(maxTokens, ANSWER_TOKENS))
                     .meterRegistry(new SimpleMeterRegistry()).onIteration(tally).build()) {
            DemoFacts facts = DemoFacts.load(engine.tokenizer(), engine.config().vocabSize(), MAX_FACT_TOKENS);
            out.printf("Serving %d requests at a time (SLO: TTFT %.0f ms, TPOT %.0f ms) on the %s backend while a"
                    + " LoRA adapter learns %d facts in %d steps.%n%n", requests, ttftMs, tpotMs, engine.backend(),
                    facts.facts().size(), steps);
            long start = System.nanoTime();
            try (FinetuneJob job = Finetuner.builder().data(facts.dataset().examples()).options(options())
                    .output(adapterDir).coServe(engine, registry).name(ADAPTER).onStep(r -> progress(out, r))
                    .start()) {
                CompletableFuture<Long> end = job.result().handle((r, e) -> System.nanoTime());
                List<GenerationResult> served = new RequestStream(engine, requests, maxTokens, out)
                        .runUntil(job.result());
                job.await();
                double seconds = (end.join() - start) / 1e9;
                registry.register(ADAPTER, adapterDir);
                int learned = ask(engine, facts, out);
                new DemoSummary(served, slo, job.history(), seconds, tally, learned, facts.facts().size()).print(out);
            }
        } finally {
            delete(adapterDir);
        }
        out.flush();
        return 0;
    }

    private FinetuneOptions options() {
        AdapterConfig lora = AdapterConfig.builder().method(PeftMethod.LORA).r(LORA_RANK).loraAlpha(2 * LORA_RANK)
                .targets(EnumSet.allOf(Projection.class)).baseModelNameOrPath(model).build();
        // A decaying rate settles the adapter on the facts by the last step; a constant one leaves it wobbling.
        return FinetuneOptions.builder().adapter(lora).lr(lr).schedule(LrSchedule.Decay.LINEAR, 0).steps(steps)
                .maxSeqLen(MAX_FACT_TOKENS).build();
    }

    private void progress(PrintWriter out, StepRecord r) {
        if (r.step() % Math.max(1, steps / PROGRESS_LINES) == 0 || r.step() == steps) {
            out.printf("[finetune] step %d/%d  loss %.4f%n", r.step(), steps, r.loss());
            out.flush();
        }
    }

    /**
     * Asks every fact's prompt greedily of the adapter and of the base model, prints both answers, and returns how
     * many facts the adapter answered exactly.
     */
    private static int ask(LlmEngine engine, DemoFacts facts, PrintWriter out) {
        SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(ANSWER_TOKENS).build();
        List<CompletableFuture<GenerationResult>> tuned = facts.facts().stream().map(f -> engine.submit(
                GenerationRequest.of(Prompt.text(f.prompt())).withParams(greedy).withAdapter(ADAPTER))).toList();
        List<CompletableFuture<GenerationResult>> base = facts.facts().stream().map(f -> engine.submit(
                GenerationRequest.of(Prompt.text(f.prompt())).withParams(greedy))).toList();
        out.printf("%nThe facts' prompts, answered greedily with the adapter and by the base model:%n");
        int learned = 0;
        for (int i = 0; i < facts.facts().size(); i++) {
            DemoFacts.Fact fact = facts.facts().get(i);
            String answer = tuned.get(i).join().text();
            boolean exact = answer.equals(fact.completion());
            learned += exact ? 1 : 0;
            String baseAnswer = base.get(i).join().text();
            out.printf("  %s%n    adapter: \"%s\"%s%n    base:    \"%s\"%n", fact.prompt(),
                    RequestStream.escape(answer), exact ? "   (exact)" : "", RequestStream.escape(baseAnswer));
        }
        return learned;
    }

    private static void delete(Path folder) throws IOException {
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
