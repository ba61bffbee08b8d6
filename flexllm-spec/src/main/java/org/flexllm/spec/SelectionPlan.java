package org.flexllm.spec;

import java.util.Arrays;

/**
 * AdaServe's choice for one iteration: how many nodes of its candidate tree (a heap-order prefix, root
 * included) each request verifies.
 *
 * @param nodes       per request, in the order given to the selector, the nodes it verifies (at least 1)
 * @param budget      the token budget the nodes were chosen within; their sum never exceeds it unless every
 *                    request's root alone already does
 * @param predictedMs the predicted iteration time of the budget
 */
public record SelectionPlan(int[] nodes, int budget, double predictedMs) {
    public SelectionPlan {
        nodes = nodes.clone();
    }

    /** The nodes request {@code r} verifies. */
    public int nodes(int r) {
        return nodes[r];
    }

    /** The tree tokens of the whole plan. */
    public int tokens() {
        return Arrays.stream(nodes).sum();
    }

    @Override
    public int[] nodes() {
        return nodes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SelectionPlan p && Arrays.equals(nodes, p.nodes) && budget == p.budget
                && Double.compare(predictedMs, p.predictedMs) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(nodes) + Integer.hashCode(budget) + Double.hashCode(predictedMs);
    }

    @Override
    public String toString() {
        return "SelectionPlan[nodes=" + Arrays.toString(nodes) + ", budget=" + budget + ", predictedMs="
                + predictedMs + "]";
    }
}
