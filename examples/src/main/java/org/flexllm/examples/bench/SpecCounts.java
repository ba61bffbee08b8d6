package org.flexllm.examples.bench;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * What speculative decoding did, from the engine's meters: drafted tree tokens verified, those accepted, and
 * verifications (each emits its accepted path and a bonus token).
 *
 * @param treeTokens    drafted tokens verified
 * @param accepted      drafted tokens accepted
 * @param verifications trees verified
 */
public record SpecCounts(double treeTokens, double accepted, long verifications) {
    public static final SpecCounts NONE = new SpecCounts(0, 0, 0);

    /** The counts so far in {@code meters}. */
    public static SpecCounts of(MeterRegistry meters) {
        Counter tree = meters.find("flexllm.spec.tree_tokens").counter();
        Counter accepted = meters.find("flexllm.spec.accepted_tokens").counter();
        DistributionSummary lengths = meters.find("flexllm.spec.accepted_length").summary();
        return tree == null ? NONE : new SpecCounts(tree.count(), accepted.count(), lengths.count());
    }

    /** The counts since {@code earlier}. */
    public SpecCounts minus(SpecCounts earlier) {
        return new SpecCounts(treeTokens - earlier.treeTokens, accepted - earlier.accepted,
                verifications - earlier.verifications);
    }

    /** Accepted / verified drafted tokens, or null when none was verified. */
    public Double acceptanceRate() {
        return treeTokens == 0 ? null : accepted / treeTokens;
    }

    /** Tokens a verification emits on average (its accepted path and the bonus), or null without any. */
    public Double meanAcceptedLength() {
        return verifications == 0 ? null : (accepted + verifications) / verifications;
    }
}
