package org.flexllm.spec;

import java.util.Locale;

/**
 * How many draft tokens each request verifies per iteration, as {@code --spec-policy} names it.
 */
public enum SpecPolicy {
    /** No speculation: every request decodes one token per iteration. */
    NONE,
    /** A fixed chain of draft tokens per request (vLLM-style); the whole chain is verified. */
    CHAIN,
    /** A fixed-shape token tree per request (SpecInfer-style); the whole tree is verified. */
    TREE,
    /**
     * AdaServe: a candidate tree per request, of which {@link AdaServeSelector} picks a prefix sized to the
     * request's TPOT target within the iteration's token budget.
     */
    ADASERVE;

    /**
     * The policy named {@code none}, {@code chain}, {@code tree} or {@code adaserve} (any case).
     *
     * @throws InvalidSpeculationException for any other name
     */
    public static SpecPolicy parse(String name) {
        for (SpecPolicy policy : values()) {
            if (policy.name().equalsIgnoreCase(name == null ? "" : name.strip())) {
                return policy;
            }
        }
        throw new InvalidSpeculationException("speculation policy '" + name + "' is unknown; use none, chain, tree"
                + " or adaserve");
    }

    /** Whether requests draft at all. */
    public boolean speculates() {
        return this != NONE;
    }

    /** Whether the verified tree is chosen per iteration from the SLOs rather than fixed by the shape. */
    public boolean selects() {
        return this == ADASERVE;
    }

    /** The name as the command line spells it. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
