package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.TokenListener;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.sampling.SamplingParams;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code flexllm generate}: one completion, streamed to stdout as it is generated. */
@Command(name = "generate", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Continue a prompt, printing the text as it is generated (or one JSON object with --json).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    private BackendOption backend;

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder, a GGUF file, or synthetic:NAME[:DTYPE] (smollm-135m, llama-1b,"
                    + " llama-8b-2l, tiny).")
    private String model;

    @ArgGroup(multiplicity = "1")
    private PromptInput prompt;

    @Mixin
    private AdapterOption adapter;

    @Mixin
    private SpeculationOptions speculation;

    @Mixin
    private TensorParallelOption tensorParallel;

    @Option(names = "--max-tokens", defaultValue = "128", description = "The most tokens to generate.")
    private int maxTokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "0 selects greedy decoding.")
    private double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling; 1 turns it off.")
    private double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 turns it off.")
    private int topK;

    @Option(names = "--seed", description = "Makes sampling reproducible.")
    private Long seed;

    @Option(names = "--num-samples", defaultValue = "1", paramLabel = "N", description = "Draw N independent"
            + " samples in this one process, under seeds S, S+1, ... (S: --seed, else 0); with --json one object"
            + " per sample and line, in seed order.")
    private int numSamples;

    @Option(names = "--json", description = "Print one object with prompt_ids, ids, text, finish_reason, ttft_ms, "
            + "tpot_ms at the end instead of streaming text.")
    private boolean json;

    /** The prompt: text, encoded as the tokenizer does by default (BOS where it adds one), or token ids. */
    static final class PromptInput {
        @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt text.")
        String text;

        @Option(names = "--prompt-ids", required = true, split = ",", paramLabel = "ID",
                description = "The prompt as token ids, e.g. 1,403,407.")
        int[] ids;

        Prompt toPrompt() {
            return text != null ? Prompt.text(text) : Prompt.ids(ids);
        }
    }

    /** The JSON output. */
    record Generated(List<Integer> promptIds, List<Integer> ids, String text, String finishReason, double ttftMs,
                     double tpotMs) {}

    @Override
    public Integer call() {
        if (numSamples < 1) {
            throw new ParameterException(spec.commandLine(), "--num-samples must be at least 1, was " + numSamples);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (AdapterRegistry adapters = adapter.registry();
             LlmEngine engine = engine(adapters)) {
            if (json) {
                printJson(engine, out);
            } else {
                stream(engine, out);
            }
        }
        out.flush();
        return 0;
    }

    private LlmEngine engine(AdapterRegistry adapters) {
        var builder = AdapterOption.serving(tensorParallel.apply(LlmEngine.builder().model(model).maxSequences(numSamples)),
                adapters);
        return (speculation.speculates() ? builder.speculation(speculation.factory()) : builder).build();
    }

    /** All samples at once, batched; then one object per sample, in seed order. */
    private void printJson(LlmEngine engine, PrintWriter out) {
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
        for (int i = 0; i < numSamples; i++) {
            results.add(engine.submit(new GenerationRequest(prompt.toPrompt(), params(i), null, adapter.name())));
        }
        for (CompletableFuture<GenerationResult> result : results) {
            GenerationResult r = result.join();
            out.println(Json.line(new Generated(r.promptIds(), r.ids(), r.text(), r.finishReason().label(),
                    r.timings().ttftMs(), r.timings().tpotMs())));
        }
    }

    /** One sample after the other, each streamed as it is generated; a blank line between them. */
    private void stream(LlmEngine engine, PrintWriter out) {
        TokenListener stream = event -> {
            out.print(event.text());
            out.flush();
        };
        for (int i = 0; i < numSamples; i++) {
            out.print(i == 0 ? "" : System.lineSeparator());
            engine.generate(new GenerationRequest(prompt.toPrompt(), params(i), stream, adapter.name()));
            out.println();
        }
    }

    /** The settings of the {@code sample}-th sample: its seed is the first's plus {@code sample}. */
    private SamplingParams params(int sample) {
        SamplingParams.Builder params = SamplingParams.builder()
                .maxTokens(maxTokens).temperature(temperature).topP(topP).topK(topK);
        if (seed != null || numSamples > 1) {
            params.seed((seed == null ? 0 : seed) + sample);
        }
        return params.build();
    }
}
