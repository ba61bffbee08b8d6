package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.flexllm.api.Slo;

/**
 * The outcome of a speculative-decoding run, as {@code flexllm bench spec} prints it (JSON names are these in
 * snake_case): attainment overall and per latency class, goodput, then the settings. Percentiles are over
 * completed requests, TPOT over those with two tokens or more; null when there is nothing to measure.
 *
 * @param sloAttainment        requests that met their SLO / requests submitted
 * @param sloAttainmentByClass the same per latency class, in the order of {@code sloTpotMs}
 * @param goodputTokensPerS    tokens of the requests that met their SLO, per second of wall time
 * @param tokensPerS           tokens of every completed request, per second of wall time
 * @param meanAcceptedLength   tokens a verification emitted on average (accepted path and bonus), or null
 * @param acceptanceRate       drafted tokens accepted / verified, or null
 * @param ttftP50Ms            median time to first token
 * @param ttftP99Ms            99th percentile of the time to first token
 * @param tpotP50Ms            median time per output token
 * @param tpotP99Ms            99th percentile of the time per output token
 * @param requestsSubmitted    requests submitted
 * @param requestsCompleted    requests that completed before the end of the run
 * @param model                the model
 * @param draft                the draft source ({@code oracle:} ones are simulations)
 * @param policy               the speculation policy
 * @param servePolicy          the engine's co-serving policy (inference-only unless a job was co-served)
 * @param rate                 Poisson arrivals per second
 * @param durationS            how long requests arrived
 * @param wallS                the run's wall time
 * @param sloTpotMs            the TPOT target of each class
 * @param sloMix               each class's share of the requests
 * @param sloTtftMs            the TTFT target
 * @param promptLen            the mean prompt length
 * @param outputLen            the mean output length
 * @param seed                 the workload's seed
 * @param finetuneTokensPerS   finetuning tokens per second when a job was co-served, else 0
 */
public record SpecReport(Double sloAttainment, List<Double> sloAttainmentByClass, double goodputTokensPerS,
                         double tokensPerS, Double meanAcceptedLength, Double acceptanceRate, Double ttftP50Ms,
                         Double ttftP99Ms, Double tpotP50Ms, Double tpotP99Ms, int requestsSubmitted,
                         int requestsCompleted, String model, String draft, String policy, String servePolicy,
                         Double rate, double durationS, double wallS, List<Double> sloTpotMs, List<Double> sloMix,
                         double sloTtftMs, int promptLen, int outputLen, long seed, double finetuneTokensPerS) {

    /** The report of {@code run}, whose requests drew their classes from {@code mix}. */
    public static SpecReport of(CoserveConfig config, SloMix mix, String draft, String policy, CoserveRun run) {
        List<RequestOutcome> outcomes = run.outcomes();
        List<RequestOutcome> completed = outcomes.stream().filter(RequestOutcome::completed).toList();
        List<RequestOutcome> decoded = completed.stream().filter(o -> o.generated() >= 2).toList();
        long generated = completed.stream().mapToLong(RequestOutcome::generated).sum();
        long good = outcomes.stream().filter(RequestOutcome::sloMet).mapToLong(RequestOutcome::generated).sum();
        List<Double> byClass = new ArrayList<>();
        for (Slo slo : mix.classes()) {
            byClass.add(CoserveReport.attainment(outcomes.stream().filter(o -> o.slo().equals(slo)).toList()));
        }
        SpecCounts spec = run.speculation();
        return new SpecReport(CoserveReport.attainment(outcomes), byClass, good / run.wallS(), generated / run.wallS(),
                spec.meanAcceptedLength(), spec.acceptanceRate(),
                CoserveReport.percentile(completed, RequestOutcome::ttftMs, 50), CoserveReport.percentile(completed, RequestOutcome::ttftMs, 99),
                CoserveReport.percentile(decoded, RequestOutcome::tpotMs, 50), CoserveReport.percentile(decoded, RequestOutcome::tpotMs, 99),
                outcomes.size(), completed.size(), config.model(), draft, policy, config.policy().label(),
                config.rate(), config.durationS(), run.wallS(), mix.classes().stream().map(Slo::tpotMs).toList(),
                mix.shares(), mix.classes().get(0).ttftMs(), config.promptLen(), config.outputLen(), config.seed(),
                run.finetuneTokens() / run.wallS());
    }

    /** The report as a few aligned lines for a terminal. */
    public String table() {
        return String.join(System.lineSeparator(),
                CoserveReport.row("speculation", policy + " with draft " + draft + " on " + model + " (" + servePolicy + ")"),
                CoserveReport.row("workload", String.format(Locale.ROOT, "Poisson %.3g requests/s for %.1f s, prompt ~%d, output"
                        + " ~%d tokens, seed %d", rate, durationS, promptLen, outputLen, seed)),
                CoserveReport.row("requests", requestsSubmitted + " submitted, " + requestsCompleted + " completed"),
                CoserveReport.row("SLO attainment", CoserveReport.percent(sloAttainment) + " overall; by TPOT class "
                        + byClass()),
                CoserveReport.row("goodput", String.format(Locale.ROOT, "%.1f tokens/s of %.1f tokens/s over %.1f s",
                        goodputTokensPerS, tokensPerS, wallS)),
                CoserveReport.row("accepted", String.format(Locale.ROOT, "mean length %s, acceptance rate %s",
                        meanAcceptedLength == null ? "-" : String.format(Locale.ROOT, "%.2f", meanAcceptedLength),
                        CoserveReport.percent(acceptanceRate))),
                CoserveReport.row("TTFT p50 / p99", CoserveReport.milliseconds(ttftP50Ms) + " / "
                        + CoserveReport.milliseconds(ttftP99Ms)),
                CoserveReport.row("TPOT p50 / p99", CoserveReport.milliseconds(tpotP50Ms) + " / "
                        + CoserveReport.milliseconds(tpotP99Ms)));
    }

    private String byClass() {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < sloTpotMs.size(); i++) {
            parts.add(String.format(Locale.ROOT, "%.1f ms: %s", sloTpotMs.get(i),
                    CoserveReport.percent(sloAttainmentByClass.get(i))));
        }
        return String.join(", ", parts);
    }
}
