package org.flexllm.examples.bench;

import java.util.List;
import org.flexllm.speculation.SpeculatorFactory;

/**
 * How a benchmark run speculates. A source that drafts from the target's own greedy continuation (the
 * {@code oracle:} simulation) gets it: the harness decodes every request once without speculation first.
 */
public interface Speculating {
    /** Whether {@link #factory} needs every request's greedy continuation. */
    boolean needsReferences();

    /**
     * The engine's speculator factory.
     *
     * @param references per request of the run, its prompt followed by its greedy continuation (empty unless
     *                   {@link #needsReferences()})
     */
    SpeculatorFactory factory(List<int[]> references);
}
