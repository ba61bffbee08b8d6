package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.ScoreResult;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.sampling.SampledToken;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code flexllm score}: the log-probability of every token of a sequence given the ones before it. */
@Command(name = "score", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Score a token sequence: log P(ids[t] | ids[<t]) for every t > 0, with the most likely"
                + " alternatives.")
final class ScoreCommand implements Callable<Integer> {
    @Mixin
    private BackendOption backend;

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder, a GGUF file, or synthetic:NAME.")
    private String model;

    @ArgGroup(multiplicity = "1")
    private Input input;

    @Mixin
    private AdapterOption adapter;

    @Mixin
    private TensorParallelOption tensorParallel;

    @Option(names = "--top-logprobs", defaultValue = "0", paramLabel = "K",
            description = "How many of the most likely tokens to list at each position.")
    private int top;

    @Option(names = "--json", description = "Print {\"ids\":[...], \"logprobs\":[null, ...], "
            + "\"top_logprobs\":[null, [[id, logprob], ...], ...]} instead of a table.")
    private boolean json;

    /** The sequence: text, encoded as the tokenizer does by default, or token ids. */
    static final class Input {
        @Option(names = "--text", required = true, description = "The text to score.")
        String text;

        @Option(names = "--ids", required = true, split = ",", paramLabel = "ID",
                description = "The token ids to score, e.g. 1,403,407.")
        int[] ids;
    }

    /** The JSON output; entry 0 of both lists is null since nothing precedes the first token. */
    record Scored(List<Integer> ids, List<Float> logprobs, List<List<List<Number>>> topLogprobs) {}

    @Override
    public Integer call() {
        ScoreResult r;
        try (AdapterRegistry adapters = adapter.registry();
             LlmEngine engine = AdapterOption.serving(
                     tensorParallel.apply(LlmEngine.builder().model(model).maxSequences(1)), adapters)
                     .build()) {
            r = engine.score(input.ids != null ? input.ids : engine.encode(Prompt.text(input.text)), top,
                    adapter.name());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.line(scored(r)));
        } else {
            printTable(out, r);
        }
        out.flush();
        return 0;
    }

    private static Scored scored(ScoreResult r) {
        List<Float> logprobs = new ArrayList<>();
        List<List<List<Number>>> tops = new ArrayList<>();
        for (SampledToken t : r.logprobs()) {
            logprobs.add(t == null ? null : t.logprob());
            tops.add(t == null ? null
                    : t.topLogprobs().stream().map(a -> List.<Number>of(a.id(), a.logprob())).toList());
        }
        return new Scored(r.ids(), logprobs, tops);
    }

    private static void printTable(PrintWriter out, ScoreResult r) {
        out.println("position\tid\tlogprob\talternatives (id:logprob)");
        for (int t = 0; t < r.ids().size(); t++) {
            SampledToken s = r.logprobs().get(t);
            String alternatives = s == null ? "" : s.topLogprobs().stream()
                    .map(a -> a.id() + ":" + a.logprob()).collect(Collectors.joining(" "));
            out.println(t + "\t" + r.ids().get(t) + "\t" + (s == null ? "" : s.logprob()) + "\t" + alternatives);
        }
    }
}
