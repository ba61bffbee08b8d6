package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import org.flexllm.api.Slo;
import org.junit.jupiter.api.Test;

/** Selection against a fixed latency model: an iteration of B tree tokens takes 4 + B milliseconds. */
class AdaServeSelectorTest {
    private static final IntToDoubleFunction LATENCY = tokens -> 4 + tokens;

    @Test
    void theBudgetIsTheLargestCountWithinTheLimit() {
        assertEquals(8, AdaServeSelector.budget(LATENCY, 12, 1, 100));
        assertEquals(8, AdaServeSelector.budget(LATENCY, 12.5, 1, 100));
        assertEquals(5, AdaServeSelector.budget(LATENCY, 12, 1, 5), "capped by the candidates");
        assertEquals(3, AdaServeSelector.budget(LATENCY, 2, 3, 100), "every request keeps its root");
    }

    @Test
    void needCountsTheTokensDueByTheEndOfTheIteration() {
        // TPOT 5 ms; 10 ms after the first token with 3 emitted; a 12 ms iteration ends at 22 ms, by when
        // tokens 0..4 (at 0, 5, 10, 15, 20 ms) are due: 5 - 3 = 2
        assertEquals(2, request(chain(1), 5, 3, 10).need(12));
        assertEquals(1, request(chain(1), 12, 2, 12).need(12), "24 ms: tokens at 0, 12, 24 are due");
        assertEquals(-4, request(chain(1), 50, 5, 20).need(12), "well ahead");
    }

    @Test
    void aRequestBehindItsTpotGetsMoreNodes() {
        double[] probabilities = {1, 0.8, 0.6, 0.45, 0.3, 0.2, 0.1};
        SpecRequest onTime = request(chain(probabilities), 10, 3, 20);
        SpecRequest behind = request(chain(probabilities), 10, 3, 45);
        int[] nodes = AdaServeSelector.allocate(List.of(onTime, behind), 8, 12);
        assertTrue(nodes[1] > nodes[0], "behind " + nodes[1] + " vs on time " + nodes[0]);
        int[] swapped = AdaServeSelector.allocate(List.of(behind, onTime), 8, 12);
        assertTrue(swapped[0] > swapped[1]);
    }

    @Test
    void phaseTwoFollowsPathProbability() {
        // both requests are ahead of their TPOT, so every node beyond the roots goes by path probability
        SpecRequest a = request(chain(1, 0.9, 0.5, 0.1), 100, 5, 10);
        SpecRequest b = request(chain(1, 0.8, 0.7, 0.2), 100, 5, 10);
        // .9 (a), .8 (b), .7 (b), .5 (a), then .2 (b) before .1 (a)
        assertArrayEquals(new int[] {2, 2}, AdaServeSelector.allocate(List.of(a, b), 4, 12));
        assertArrayEquals(new int[] {3, 3}, AdaServeSelector.allocate(List.of(a, b), 6, 12));
        assertArrayEquals(new int[] {3, 4}, AdaServeSelector.allocate(List.of(a, b), 7, 12));
        assertArrayEquals(new int[] {4, 4}, AdaServeSelector.allocate(List.of(a, b), 100, 12), "all candidates");
    }

    @Test
    void aMixedSloBatchGetsTheHandComputedPlan() {
        // limit 12 ms: budget 8 (4 + 8 = 12 ms). Needs by hand (see needCountsTheTokensDueByTheEndOfTheIteration):
        // tight (TPOT 5): 2; medium (TPOT 12): 1; loose (TPOT 50): -4.
        SpecRequest tight = request(chain(1, 0.7, 0.5, 0.45), 5, 3, 10);
        SpecRequest medium = request(chain(1, 0.6, 0.3), 12, 2, 12);
        SpecRequest loose = request(chain(1, 0.95, 0.9, 0.85), 50, 5, 20);
        // Phase 1: roots for all (3 tokens, 5 left); only tight is short: +.7 -> 1.7, +.5 -> 2.2 >= 2 (3 left).
        // Phase 2: .95, .9, .85 all from loose; medium keeps its root.
        SelectionPlan plan = AdaServeSelector.select(List.of(tight, medium, loose), LATENCY, 12);
        assertEquals(8, plan.budget());
        assertEquals(12, plan.predictedMs());
        assertArrayEquals(new int[] {3, 1, 4}, plan.nodes());
        // With no SLO pressure the same candidates go by probability alone: .95 .9 .85 .7 .6.
        SpecRequest relaxed = request(tight.candidates(), 1000, 3, 10);
        assertArrayEquals(new int[] {2, 2, 4},
                AdaServeSelector.select(List.of(relaxed, medium, loose), LATENCY, 12).nodes());
    }

    @Test
    void whenTheBudgetCannotMeetEveryNeedTheLikeliestNodesGoFirst() {
        // Both need 3 (TPOT 10, 1 emitted, 20 ms in, 12 ms iteration: tokens at 0, 10, 20, 30 ms are due).
        SpecRequest a = request(chain(1, 0.9, 0.8, 0.7), 10, 1, 20);
        SpecRequest b = request(chain(1, 0.5, 0.4, 0.3), 10, 1, 20);
        assertEquals(3, a.need(12));
        assertEquals(3, b.need(12));
        // 3 nodes beyond the roots cannot cover both; best first they all go to a: 1 + .9 + .8 + .7 = 3.4 meets
        // its need, while b could not have reached 3 even with its whole tree (1 + .5 + .4 + .3 = 2.2).
        assertArrayEquals(new int[] {4, 1}, AdaServeSelector.allocate(List.of(a, b), 5, 12));
        // One node less: a's .9 and .8, since each beats b's .5.
        assertArrayEquals(new int[] {3, 1}, AdaServeSelector.allocate(List.of(a, b), 4, 12));
    }

    @Test
    void theBudgetIsNeverExceededAndEveryRequestDecodes() {
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 300; trial++) {
            List<SpecRequest> requests = new ArrayList<>();
            int total = 0;
            for (int r = 0; r < 1 + random.nextInt(6); r++) {
                TokenTree tree = randomTree(random);
                total += tree.size();
                requests.add(request(tree, 1 + random.nextDouble(60), 1 + random.nextInt(20),
                        random.nextDouble(400)));
            }
            double limit = 4 + random.nextDouble(40);
            SelectionPlan plan = AdaServeSelector.select(requests, LATENCY, limit);
            assertEquals(Math.max(requests.size(), Math.min(total, (int) Math.floor(limit - 4))), plan.budget());
            assertEquals(plan.budget(), plan.tokens(), "the whole budget is spent");
            for (int r = 0; r < requests.size(); r++) {
                assertTrue(plan.nodes(r) >= 1 && plan.nodes(r) <= requests.get(r).candidates().size());
            }
        }
    }

    private static SpecRequest request(TokenTree tree, double tpotMs, int emitted, double sinceFirstMs) {
        return new SpecRequest(tree, new Slo(1000, tpotMs), emitted, sinceFirstMs);
    }

    /** A chain whose node i has path probability {@code probabilities[i]}; the first must be 1 (the root). */
    static TokenTree chain(double... probabilities) {
        TokenTree.Builder b = TokenTree.builder(0);
        for (int i = 1; i < probabilities.length; i++) {
            b.add(i - 1, i, Math.log(probabilities[i]));
        }
        return b.build();
    }

    private static TokenTree randomTree(SplittableRandom random) {
        TokenTree.Builder b = TokenTree.builder(0);
        for (int i = 1; i < 1 + random.nextInt(12); i++) {
            int parent = random.nextInt(i);
            b.add(parent, i, b.logp(parent) + Math.log(0.05 + 0.95 * random.nextDouble()));
        }
        return b.build().inHeapOrder();
    }
}
