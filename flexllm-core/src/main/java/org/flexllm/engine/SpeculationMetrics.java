package org.flexllm.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.Verdict;

/**
 * Speculative decoding's meters: tree tokens verified and accepted (their ratio is the acceptance rate), the
 * tokens each verification emits (the mean accepted length, bonus included), and accepted tokens by depth.
 */
final class SpeculationMetrics {
    private final MeterRegistry registry;
    private final Counter treeTokens;
    private final Counter accepted;
    private final DistributionSummary acceptedLength;
    /** By depth, made when first reached: a depth's counter is looked up once, not per token. */
    private final Counter[] byDepth = new Counter[AttentionBatch.MAX_TREE_NODES];

    SpeculationMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.treeTokens = Counter.builder("flexllm.spec.tree_tokens")
                .description("drafted tree nodes verified by the target").register(registry);
        this.accepted = Counter.builder("flexllm.spec.accepted_tokens")
                .description("drafted tree nodes the target accepted").register(registry);
        this.acceptedLength = DistributionSummary.builder("flexllm.spec.accepted_length")
                .description("tokens one verification emits: the accepted path and the bonus token")
                .register(registry);
    }

    void verified(DraftTree tree, Verdict verdict) {
        int path = verdict.accepted().length;
        treeTokens.increment(tree.size() - 1);
        accepted.increment(path);
        acceptedLength.record(path + 1);
        for (int depth = 1; depth <= path; depth++) {
            depth(depth).increment();
        }
    }

    private Counter depth(int depth) {
        if (byDepth[depth] == null) {
            byDepth[depth] = Counter.builder("flexllm.spec.accepted_by_depth")
                    .description("accepted tree nodes at each depth below the root")
                    .tag("depth", String.valueOf(depth)).register(registry);
        }
        return byDepth[depth];
    }
}
