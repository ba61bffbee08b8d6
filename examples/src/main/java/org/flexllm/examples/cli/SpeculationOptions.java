package org.flexllm.examples.cli;

import java.util.List;
import org.flexllm.examples.bench.Speculating;
import org.flexllm.spec.DraftSpec;
import org.flexllm.spec.SpecPolicy;
import org.flexllm.spec.Speculators;
import org.flexllm.spec.TreeShape;
import org.flexllm.speculation.SpeculatorFactory;
import picocli.CommandLine.Option;

/** Speculative decoding's options, shared by {@code generate}, {@code serve} and {@code bench}. */
final class SpeculationOptions {
    @Option(names = "--draft", paramLabel = "DIR|layers:N|ngram|oracle:ALPHA", description = "Decode"
            + " speculatively with this draft: a draft model folder sharing the target's vocabulary, the target's"
            + " own first N layers (early exit), n-gram prompt lookup, or (bench only) oracle:ALPHA, a simulation"
            + " proposing the target's own greedy continuation with probability ALPHA per token.")
    private String draft;

    @Option(names = "--spec-policy", paramLabel = "POLICY", description = "With --draft: chain (a fixed chain of"
            + " --spec-depth tokens), tree (width --spec-width, depth --spec-depth) or adaserve (each request's tree"
            + " sized to its TPOT within the iteration's budget; the default); none turns speculation off.")
    private String policy;

    @Option(names = "--spec-depth", defaultValue = "4", paramLabel = "D",
            description = "With --draft: levels of draft tokens below the root.")
    private int depth;

    @Option(names = "--spec-width", defaultValue = "3", paramLabel = "W",
            description = "With --draft: tree and adaserve candidates kept per level (and proposed per node).")
    private int width;

    /** Whether a draft was given and the policy speculates. */
    boolean speculates() {
        return draft != null && policy().speculates();
    }

    String draftLabel() {
        return draft == null ? "none" : draft;
    }

    SpecPolicy policy() {
        return policy == null ? (draft == null ? SpecPolicy.NONE : SpecPolicy.ADASERVE) : SpecPolicy.parse(policy);
    }

    /** The engine's speculation, for a command that serves real requests: {@code oracle:} is refused. */
    SpeculatorFactory factory() {
        return Speculators.of(DraftSpec.parse(draft), policy(), shape());
    }

    /** The speculation of a benchmark run, which may simulate a draft with {@code oracle:}. */
    Speculating benchmark(long seed) {
        DraftSpec spec = DraftSpec.parse(draft);
        return new Speculating() {
            @Override
            public boolean needsReferences() {
                return spec instanceof DraftSpec.Oracle;
            }

            @Override
            public SpeculatorFactory factory(List<int[]> references) {
                return spec instanceof DraftSpec.Oracle o
                        ? Speculators.oracle(o.alpha(), policy(), shape(), references, seed)
                        : Speculators.of(spec, policy(), shape());
            }
        };
    }

    private TreeShape shape() {
        return switch (policy()) {
            case CHAIN -> TreeShape.chain(depth);
            case TREE -> TreeShape.tree(width, depth);
            case ADASERVE, NONE -> new TreeShape(width, depth, width);
        };
    }
}
