package org.flexllm.spec;

import java.util.List;
import java.util.function.IntToDoubleFunction;

/**
 * AdaServe's SLO-customized selection (arXiv 2501.12162): decides how many nodes of its candidate tree each
 * request verifies in one iteration.
 *
 * <ol>
 *   <li><b>Budget.</b> The largest token count whose predicted iteration time stays within the limit (the
 *       tightest the scheduler must meet), from the caller's latency model; at least one token per request.</li>
 *   <li><b>Phase 1, SLO.</b> Every request starts with its root (its decode token, which brings the bonus
 *       token). A request whose expected emitted tokens, {@code Σ exp(path logp)} over its chosen nodes with the
 *       root counting 1 for the bonus, fall short of its {@link SpecRequest#need need} takes its next node in
 *       heap order. Among the requests still short, the next node with the highest path probability goes
 *       first, so that when the budget cannot meet every need it buys the most expected tokens.</li>
 *   <li><b>Phase 2, throughput.</b> What is left of the budget goes to the highest path probabilities across
 *       all requests, again one heap-order node at a time.</li>
 * </ol>
 * Each request's nodes are a prefix of its heap order, hence a connected subtree. Stateless.
 */
public final class AdaServeSelector {
    private AdaServeSelector() {
    }

    /**
     * Chooses the budget and the plan: the budget is {@link #budget} over the candidates' total nodes, the
     * iteration time the prediction for it.
     *
     * @param iterationMs the predicted iteration time for a number of tree tokens (with whatever else the
     *                    iteration carries), non-decreasing in it
     * @param limitMs     the tightest iteration time the scheduler must keep
     */
    public static SelectionPlan select(List<SpecRequest> requests, IntToDoubleFunction iterationMs, double limitMs) {
        int total = requests.stream().mapToInt(r -> r.candidates().size()).sum();
        int budget = budget(iterationMs, limitMs, requests.size(), total);
        double predicted = iterationMs.applyAsDouble(budget);
        return new SelectionPlan(allocate(requests, budget, predicted), budget, predicted);
    }

    /**
     * The largest token count in {@code [min, max]} whose predicted time is at most {@code limitMs}, by binary
     * search; {@code min} when even that is predicted over the limit (every request still decodes).
     */
    public static int budget(IntToDoubleFunction iterationMs, double limitMs, int min, int max) {
        if (min > max) {
            throw new IllegalArgumentException("the budget range [" + min + ", " + max + "] is empty");
        }
        int lo = min;
        int hi = max;
        while (lo < hi) {
            int mid = lo + (hi - lo + 1) / 2;
            if (iterationMs.applyAsDouble(mid) <= limitMs) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /**
     * The nodes per request for a given budget and predicted iteration time: phases 1 and 2 above. Spends the
     * whole budget unless the candidates run out; never more, except that every request gets its root.
     */
    public static int[] allocate(List<SpecRequest> requests, int budget, double iterationMs) {
        return allocate(requests, budget, iterationMs, true);
    }

    /**
     * As {@link #allocate(List, int, double)}, with phase 2 only when {@code surplus}: without it the requests
     * get what their needs take and no more (the time is finetuning's).
     */
    public static int[] allocate(List<SpecRequest> requests, int budget, double iterationMs, boolean surplus) {
        int n = requests.size();
        int[] nodes = new int[n];
        double[] expected = new double[n];
        int[] need = new int[n];
        for (int r = 0; r < n; r++) {
            nodes[r] = 1;
            expected[r] = 1;
            need[r] = requests.get(r).need(iterationMs);
        }
        int left = budget - n;
        left = spend(requests, nodes, expected, need, left);
        if (surplus) {
            spend(requests, nodes, expected, null, left);
        }
        return nodes;
    }

    /**
     * Gives out up to {@code left} nodes, each to the eligible request whose next node is most probable (ties
     * to the lower index); with {@code need} only requests short of it are eligible. Returns what is left.
     */
    private static int spend(List<SpecRequest> requests, int[] nodes, double[] expected, int[] need, int left) {
        while (left > 0) {
            int best = -1;
            double bestP = -1;
            for (int r = 0; r < requests.size(); r++) {
                TokenTree tree = requests.get(r).candidates();
                boolean eligible = nodes[r] < tree.size() && (need == null || expected[r] < need[r]);
                if (eligible && tree.probability(nodes[r]) > bestP) {
                    best = r;
                    bestP = tree.probability(nodes[r]);
                }
            }
            if (best < 0) {
                return left;
            }
            nodes[best]++;
            expected[best] += bestP;
            left--;
        }
        return left;
    }
}
