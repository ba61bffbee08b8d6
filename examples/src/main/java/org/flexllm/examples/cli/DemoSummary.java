package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.Slo;
import org.flexllm.peft.train.StepRecord;

/**
 * What the demo did, printed at its end: requests served and their SLO attainment, median latencies, finetuning
 * throughput and loss, how many iterations mixed the two, and how many facts the adapter learned.
 *
 * @param served  the requests served while the adapter trained
 * @param slo     their latency targets
 * @param history the job's steps
 * @param seconds from the job's start to its end
 * @param tally   the engine's iterations
 * @param learned facts the adapter answered exactly
 * @param facts   facts it was taught
 */
record DemoSummary(List<GenerationResult> served, Slo slo, List<StepRecord> history, double seconds,
                   IterationTally tally, int learned, int facts) {

    void print(PrintWriter out) {
        long met = served.stream().filter(GenerationResult::sloMet).count();
        out.printf("%nSummary%n");
        out.printf("  requests served:   %d, %d within the SLO (TTFT <= %.0f ms, TPOT <= %.0f ms): %.1f%%"
                + " attainment%n", served.size(), met, slo.ttftMs(), slo.tpotMs(), 100.0 * met / served.size());
        out.printf("  latency p50:       TTFT %.1f ms, TPOT %.1f ms%n", median(r -> r.timings().ttftMs()),
                median(r -> r.timings().tpotMs()));
        out.printf("  finetuning:        %d steps, %d tokens in %.1f s: %.0f tokens/s; loss %.4f -> %.4f%n",
                history.size(), tally.finetuneTokens(), seconds, tally.finetuneTokens() / seconds,
                history.getFirst().loss(), history.getLast().loss());
        out.printf("  iterations:        %d, %d with inference and finetuning together%n", tally.iterations(),
                tally.mixed());
        out.printf("  facts learned:     %d of %d answered exactly by the adapter%n", learned, facts);
    }

    private double median(ToDoubleFunction<GenerationResult> value) {
        double[] v = served.stream().mapToDouble(value).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
