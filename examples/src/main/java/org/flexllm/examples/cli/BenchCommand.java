package org.flexllm.examples.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.flexllm.api.EngineBuilder;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.flexllm.examples.bench.CoserveReport;
import org.flexllm.examples.bench.ModelShape;
import org.flexllm.examples.bench.References;
import org.flexllm.examples.bench.SpecCounts;
import org.flexllm.examples.bench.SpecReport;
import org.flexllm.examples.bench.Speculating;
import org.flexllm.graph.Pruning;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.TargetModules;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.Policy;
import org.flexllm.speculation.SpeculatorFactory;
import org.flexllm.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import org.flexllm.examples.soak.Soak;
import org.flexllm.examples.soak.SoakReport;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code flexllm bench}: decode or prefill throughput on random prompt ids, with bandwidth and FLOP rates,
 * finetuning throughput with the activation memory the pruning plan saves ({@link FinetuneBench}), or SLO
 * attainment and throughputs of a co-serving run under a request workload ({@link CoserveBench}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Measure decode, prefill or finetuning throughput on random token ids (greedy, EOS ignored), or"
                + " co-serving under a workload of requests.",
                "decode: B requests of L prompt tokens generate G tokens each; tokens_per_s counts the tokens after"
                        + " each request's first, over the time from the last first token to the last token.",
                "prefill: B prompts of L tokens in one iteration (when B*L fits the 8192-token budget), one token"
                        + " each; tokens_per_s = B*L / time from submission to the last first token.",
                "gflops counts the Linear layers and the lm_head (on the last prompt token only in prefill), not"
                        + " attention. Untimed warm-up runs come first; the best timed run is reported.",
                "finetune: training steps (forward, backward, AdamW) of a LoRA adapter on one sequence of L tokens;"
                        + " tokens_per_s = L / the fastest timed step. activation_bytes_per_token is what the pruned"
                        + " forward keeps for the backward, activation_bytes_per_token_unpruned what keeping every"
                        + " activation read would (both from the compiled plan, whatever --no-prune says).",
                "coserve: requests arrive (Poisson at --rate, or replayed from --trace) for --duration seconds while a"
                        + " LoRA job (r --lora-r, alpha 2r, on q,k,v,o_proj, AdamW) trains under --policy; prompt and"
                        + " output lengths are lognormal around --prompt-len (default 128) and --output-len. Reports"
                        + " SLO attainment (requests meeting both targets / submitted), TTFT and TPOT percentiles and"
                        + " inference and finetuning tokens/s over the wall time; requests still running when they"
                        + " can no longer meet their SLO are cancelled and count as misses. Untimed, first: eight"
                        + " requests of the mean lengths and the job's first step, for the JIT. Also reports the"
                        + " latency model's error (p50 and p90 of |measured - predicted| / measured over the"
                        + " iterations), the share of SLO-limited iterations that outlasted their limit, and the GC"
                        + " pauses of the run (count, p99, max, in the JVM's whole milliseconds).",
                "spec: as coserve (inference-only unless --policy co-serves), each request drawing a latency class"
                        + " (--slo-tpot-ms A,B,C with --slo-mix a,b,c and --slo-ttft-ms), decoding speculatively with"
                        + " --draft and --spec-policy; reports attainment overall and per class, goodput (tokens of"
                        + " requests that met their SLO per second), mean accepted length and acceptance rate. decode"
                        + " takes --draft and --spec-policy too. oracle:ALPHA drafts are a simulation: the target's"
                        + " own greedy continuation, decoded once first, proposed with probability ALPHA.",
                "serve: the HTTP server's overhead: --batch B clients each stream " + ServeBench.REQUESTS_PER_CLIENT
                        + " greedy requests of L prompt and G generated tokens one after another, in-process through"
                        + " the engine and over HTTP with SSE (/v1/completions) on the same server, in --repeat"
                        + " rounds alternating which path goes first; reports tokens/s over the wall time and the"
                        + " clients' p50 TTFT per path, and the medians of the rounds' throughput ratios (HTTP /"
                        + " in-process) and TTFT differences."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    private BackendOption backend;

    private static final int MAX_TOKEN_BUDGET = 8192;
    private static final int BLOCK_SIZE = 16;

    /** How much native memory may grow from after warm-up to the end of a soak. */
    private static final double SOAK_MEMORY_SLACK = 0.05;

    /** What is measured, with the prompt length it uses by default. */
    enum Mode {
        decode(16), prefill(512), finetune(256), coserve(128), spec(128), serve(32), soak(0);

        final int defaultPromptLen;

        Mode(int defaultPromptLen) {
            this.defaultPromptLen = defaultPromptLen;
        }
    }

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODE",
            description = "decode, prefill, finetune, coserve, spec, serve or soak.")
    private Mode mode;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder, a GGUF file, or synthetic:NAME (smollm-135m, llama-1b,"
                    + " llama-8b-2l, tiny).")
    private String model;

    @Option(names = "--dtype", paramLabel = "TYPE", converter = DTypeOption.class,
            description = "synthetic models only: how the weights are stored: bf16 (default), f16, f32, q8_0, q4_0"
                    + " (q4_k, q6_k where the rows are whole 256-blocks).")
    private DType dtype;

    @Option(names = "--batch", defaultValue = "1", paramLabel = "B", description = "Concurrent requests.")
    private int batch;

    @Option(names = {"--prompt-len", "--seq-len"}, paramLabel = "L", description = "Prompt tokens per request, or"
            + " the finetuning sequence's tokens (default 16 for decode, 512 for prefill, 256 for finetune); coserve:"
            + " their mean (default 128).")
    private Integer promptLen;

    @Option(names = {"--gen-len", "--output-len"}, defaultValue = "64", paramLabel = "G",
            description = "Tokens generated per request in decode (prefill generates 1); coserve: their mean.")
    private int genLen;

    @Option(names = "--warmup", defaultValue = "1", paramLabel = "N",
            description = "Untimed runs (finetune: steps) first, for the JIT.")
    private int warmup;

    @Option(names = {"--repeat", "--steps"}, defaultValue = "3", paramLabel = "R",
            description = "Timed runs (finetune: steps); the best is reported.")
    private int repeat;

    @Option(names = "--lora-r", defaultValue = "8", paramLabel = "R",
            description = "finetune and coserve: the LoRA rank.")
    private int loraR;

    @Option(names = "--targets", paramLabel = "MODULES", description = "finetune: the LoRA targets, comma-separated"
            + " or all (default: PEFT's for llama, q_proj,v_proj).")
    private String targets;

    @Option(names = "--no-prune", description = "finetune: time the steps with every activation kept (KEEP_ALL).")
    private boolean noPrune;

    @Option(names = "--json", description = "Print one JSON object.")
    private boolean json;

    @Mixin
    private CoserveOptions coserve;

    @Mixin
    private SpeculationOptions speculation;

    @Mixin
    private SoakOptions soak;

    @Mixin
    private TensorParallelOption tensorParallel;

    /** One timed run: the tokens counted, how many rows of logits they needed, and the time they took. */
    record Run(long tokens, long logitRows, long nanos) {
        double tokensPerSecond() {
            return tokens * 1e9 / nanos;
        }
    }

    /** The JSON output. */
    record Report(String mode, String model, String backend, int cpus, int batch, int promptLen, int genLen,
                  int tokenBudget, int warmup, int repeats, String statistic, long tokens, double seconds,
                  double tokensPerS, long weightBytes, double weightBytesPerToken, double weightGbPerS,
                  double gflops, String gflopsCounts, String draft, String specPolicy, Double meanAcceptedLength,
                  Double acceptanceRate, int tp) {}

    @Override
    public Integer call() throws InterruptedException, IOException {
        if (mode == Mode.soak) {
            return soak();
        }
        int prompt = promptLen != null ? promptLen : mode.defaultPromptLen;
        int generate = mode == Mode.decode ? genLen : 1;
        validate(prompt, generate);
        if (mode == Mode.spec) {
            SpecReport report = SpecBench.run(coserve.specConfig(model, prompt, genLen, loraR), coserve.sloMix(),
                    speculation);
            printLine(json ? Json.line(report) : report.table());
            return 0;
        }
        if (mode == Mode.coserve) {
            CoserveReport report = CoserveBench.run(coserve.config(model(), prompt, genLen, loraR), coserve.sloAuto(),
                    coserve.plot(), spec.commandLine().getErr());
            printLine(json ? Json.line(report) : report.table());
            return 0;
        }
        if (mode == Mode.serve) {
            ServeBench.Report report = ServeBench.run(model(), batch, prompt, genLen, warmup, repeat);
            printLine(json ? Json.line(report) : report.table());
            return 0;
        }
        if (mode == Mode.finetune) {
            printFinetune(FinetuneBench.run(model(), prompt, lora(), noPrune ? Pruning.KEEP_ALL : Pruning.PRUNED,
                    warmup, repeat, tensorParallel));
            return 0;
        }
        int budget = (int) Math.min(MAX_TOKEN_BUDGET, Math.max(512L, (long) batch * prompt));
        var random = new SplittableRandom(0);
        int vocab = ModelShape.vocabSize(model);
        List<List<int[]>> runs = new ArrayList<>();
        for (int i = 0; i < warmup + repeat; i++) {
            runs.add(prompts(random, vocab, prompt));
        }
        var meters = new SimpleMeterRegistry();
        try (LlmEngine engine = engine(budget, prompt, generate, meters, speculation(runs, budget, prompt, generate))) {
            for (int i = 0; i < warmup; i++) {
                run(engine, runs.get(i), generate);
            }
            SpecCounts before = SpecCounts.of(meters);
            Run best = null;
            for (int i = warmup; i < warmup + repeat; i++) {
                Run r = run(engine, runs.get(i), generate);
                best = best == null || r.tokensPerSecond() > best.tokensPerSecond() ? r : best;
            }
            print(report(engine, budget, prompt, generate, best, SpecCounts.of(meters).minus(before)));
        }
        return 0;
    }

    /** An engine for decode and prefill: the KV cache holds exactly B sequences, so nothing is ever preempted. */
    private LlmEngine engine(int budget, int prompt, int generate, SimpleMeterRegistry meters,
                             SpeculatorFactory speculation) {
        // Inference-only: nothing here finetunes, so the start-up profile skips the finetuning passes.
        var builder = tensorParallel.apply(LlmEngine.builder()).model(model()).policy(Policy.INFERENCE_ONLY)
                .tokenBudget(budget)
                .maxSequences(batch).blockSize(BLOCK_SIZE)
                .maxModelLen(BLOCK_SIZE * Math.ceilDiv(prompt + generate, BLOCK_SIZE)).kvCacheBytes(Long.MAX_VALUE)
                .meterRegistry(meters);
        coserve.decodeSlo().ifPresent(builder::slo);
        return (speculation == null ? builder : builder.speculation(speculation)).build();
    }

    /**
     * The engine's speculation, or null without {@code --draft}; an {@code oracle:} draft gets the greedy
     * continuations of every run's prompts, decoded first without speculation.
     */
    private SpeculatorFactory speculation(List<List<int[]>> runs, int budget, int prompt, int generate) {
        if (!speculation.speculates()) {
            return null;
        }
        Speculating speculating = speculation.benchmark(0);
        List<int[]> references = new ArrayList<>();
        if (speculating.needsReferences()) {
            try (LlmEngine plain = engine(budget, prompt, generate, new SimpleMeterRegistry(), null)) {
                for (List<int[]> run : runs) {
                    int[] lengths = new int[run.size()];
                    Arrays.fill(lengths, generate);
                    references.addAll(References.greedy(plain, run, lengths));
                }
            }
        }
        return speculating.factory(references);
    }

    private List<int[]> prompts(SplittableRandom random, int vocab, int prompt) {
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            prompts.add(random.ints(prompt, 0, vocab).toArray());
        }
        return prompts;
    }

    /** Runs the soak; exits 1 when it lost, duplicated or refused anything, left anything in use or grew memory. */
    private int soak() throws InterruptedException, IOException {
        SoakReport report = Soak.run(soak.config(model(), coserve.seed()));
        printLine(json ? Json.line(report) : report.toString());
        return report.clean(SOAK_MEMORY_SLACK) ? 0 : 1;
    }

    /** The model to open: {@code --model}, with {@code --dtype} appended to a synthetic one. */
    private String model() {
        return dtype == null ? model : model + ":" + dtype.name().toLowerCase(Locale.ROOT);
    }

    private void validate(int prompt, int generate) {
        require(dtype == null || model.startsWith(EngineBuilder.SYNTHETIC),
                "--dtype applies to synthetic models; convert a model folder with `flexllm convert --dtype`");
        require(batch >= 1, "--batch must be at least 1");
        require(prompt >= 1, "--prompt-len must be at least 1");
        require(mode != Mode.decode || generate >= 2,
                "--gen-len must be at least 2 for decode: its rate counts the tokens after the first");
        require(warmup >= 0, "--warmup must be at least 0");
        require(repeat >= 1, "--repeat must be at least 1");
        require(tensorParallel.ranks() == 1 || mode == Mode.decode || mode == Mode.prefill || mode == Mode.finetune,
                "--tp applies to decode, prefill and finetune");
    }

    private AdapterConfig lora() {
        AdapterConfig.Builder lora = AdapterConfig.builder().r(loraR);
        if (targets != null) {
            lora.targets(TargetModules.parse(targets));
        }
        return lora.build();
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private Run run(LlmEngine engine, List<int[]> prompts, int generate) {
        int prompt = prompts.get(0).length;
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(generate).ignoreEos(true).build();
        List<TokenTimes> times = new ArrayList<>();
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        long submitted = System.nanoTime();
        for (int[] ids : prompts) {
            TokenTimes t = new TokenTimes(generate);
            times.add(t);
            futures.add(engine.submit(new GenerationRequest(Prompt.ids(ids), params, t)));
        }
        futures.forEach(CompletableFuture::join);
        long lastFirst = times.stream().mapToLong(TokenTimes::first).max().orElseThrow();
        if (mode == Mode.prefill) {
            return new Run((long) batch * prompt, batch, lastFirst - submitted);
        }
        long end = times.stream().mapToLong(TokenTimes::last).max().orElseThrow();
        long tokens = times.stream().mapToLong(t -> t.countAfter(lastFirst)).sum();
        return new Run(tokens, tokens, end - lastFirst);
    }

    private Report report(LlmEngine engine, int budget, int prompt, int generate, Run best, SpecCounts spec) {
        ModelCost cost = ModelCost.of(model(), engine.config());
        double bytesPerToken = weightBytesPerToken(cost, budget, prompt);
        return new Report(mode.name(), model(), engine.backend(), Runtime.getRuntime().availableProcessors(), batch,
                prompt, generate, budget, warmup, repeat, "best", best.tokens(), best.nanos() / 1e9,
                best.tokensPerSecond(), cost.streamedWeightBytes(), bytesPerToken,
                bytesPerToken * best.tokensPerSecond() / 1e9,
                cost.matmulFlops(best.tokens(), best.logitRows()) / best.nanos(),
                "linear layers and lm_head, not attention", speculation.draftLabel(), speculation.policy().cliName(),
                spec.meanAcceptedLength(), spec.acceptanceRate(), tensorParallel.ranks());
    }

    /** Each forward pass reads every streamed weight once for all the tokens it carries. */
    private double weightBytesPerToken(ModelCost cost, int budget, int prompt) {
        if (mode == Mode.decode) {
            return (double) cost.streamedWeightBytes() / batch;
        }
        long tokens = (long) batch * prompt;
        return (double) cost.streamedWeightBytes() * Math.ceilDiv(tokens, budget) / tokens;
    }

    private void printFinetune(FinetuneBench.Report r) {
        printLine(json ? Json.line(r) : String.format(
                "finetune %s on %s (%d cpus, tp %d), sequence %d, LoRA r %d on %s, %s: %.2f tokens/s (%s of %d), %.1f"
                        + " ms per step; activations kept %,d B per token (per rank) pruned, %,d unpruned",
                r.model(), r.backend(), r.cpus(), r.tp(), r.seqLen(), r.loraR(), r.targets(), r.pruning(),
                r.tokensPerS(),
                r.statistic(), r.steps(), r.stepMs(), r.activationBytesPerToken(),
                r.activationBytesPerTokenUnpruned()));
    }

    private void print(Report r) {
        String accepted = r.meanAcceptedLength() == null ? "" : String.format(", draft %s (%s): %.2f tokens per"
                + " verification, %.0f%% of drafted tokens accepted", r.draft(), r.specPolicy(),
                r.meanAcceptedLength(), 100 * r.acceptanceRate());
        printLine(json ? Json.line(r) : String.format(
                "%s %s on %s (%d cpus, tp %d), batch %d, prompt %d, gen %d: %.2f tokens/s (%s of %d), %.4g MB of weights"
                        + " per token, %.1f GB/s, %.1f GFLOP/s%s",
                r.mode(), r.model(), r.backend(), r.cpus(), r.tp(), r.batch(), r.promptLen(), r.genLen(), r.tokensPerS(),
                r.statistic(), r.repeats(), r.weightBytesPerToken() / 1e6, r.weightGbPerS(), r.gflops(), accepted));
    }

    private void printLine(String line) {
        PrintWriter out = spec.commandLine().getOut();
        out.println(line);
        out.flush();
    }
}
