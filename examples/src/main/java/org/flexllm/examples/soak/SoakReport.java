package org.flexllm.examples.soak;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What a soak found: requests by outcome (failures and refusals counted by reason), tokens lost or duplicated
 * between a consumer and its result, requests that never ended, KV blocks and adapter pins left in use, and the
 * process's memory and threads after warm-up and at the end: native memory's growth as Native Memory Tracking counts
 * it, over the categories requests, adapters and jobs allocate in ({@code nativeGrowth}, the figure the bound is
 * about) and over the JVM's own machinery ({@code machineryGrowth}, reported: JIT warm-up), bytes by category
 * ({@code nativeChanges}), and the resident set's growth as a secondary figure.
 */
public record SoakReport(SoakConfig config, int completed, int cancelled, int failed, int refused,
                         Map<String, Long> failures, int lostTokens, int duplicatedTokens, int stuck,
                         int kvBlocksInUse, int adapterPins, Resources start, Resources end, double nativeGrowth,
                         double machineryGrowth, Map<String, Long> nativeChanges, double residentGrowth, List<String> threadsAdded,
                         JobOutcomes finetuning) {

    static SoakReport of(SoakConfig config, List<SoakOutcome> outcomes, int stuck, Resources start, Resources end,
                         int freeKvBlocks, int kvBlocks, int adapterPins, JobOutcomes finetuning) {
        return new SoakReport(config, count(outcomes, SoakOutcome.Kind.COMPLETED),
                count(outcomes, SoakOutcome.Kind.CANCELLED), count(outcomes, SoakOutcome.Kind.FAILED),
                count(outcomes, SoakOutcome.Kind.REFUSED),
                outcomes.stream().filter(o -> !o.reason().isEmpty()).collect(Collectors.groupingBy(SoakOutcome::reason,
                        TreeMap::new, Collectors.counting())),
                outcomes.stream().mapToInt(SoakOutcome::lostTokens).sum(),
                outcomes.stream().mapToInt(SoakOutcome::duplicatedTokens).sum(), stuck, kvBlocks - freeKvBlocks,
                adapterPins, start, end, Resources.growth(start, end),
                Resources.machineryGrowth(start, end), Resources.changes(start, end),
                Resources.residentGrowth(start, end), added(start, end), finetuning);
    }

    /**
     * Nothing lost, duplicated, stuck or left in use, nothing refused, and the native memory that requests, adapters
     * and jobs allocate flat within {@code slack} ({@code nativeGrowth}; the JVM's machinery is reported only).
     */
    public boolean clean(double slack) {
        return lostTokens == 0 && duplicatedTokens == 0 && stuck == 0 && refused == 0 && kvBlocksInUse == 0
                && adapterPins == 0 && nativeGrowth <= slack;
    }

    /** Threads alive at the end that were not at the start, by name (pools grow on demand: say which). */
    private static List<String> added(Resources start, Resources end) {
        List<String> added = new java.util.ArrayList<>(end.threadNames());
        start.threadNames().forEach(added::remove);
        return added;
    }

    private static int count(List<SoakOutcome> outcomes, SoakOutcome.Kind kind) {
        return (int) outcomes.stream().filter(o -> o.kind() == kind).count();
    }
}
