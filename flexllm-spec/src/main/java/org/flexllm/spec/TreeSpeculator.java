package org.flexllm.spec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.Speculator;
import org.flexllm.speculation.TreeRound;
import org.flexllm.speculation.Verdict;

/**
 * The engine's {@link Speculator}: grows each decoding request's candidate tree, chooses how much of it to verify
 * ({@link SpecPolicy#ADASERVE}: {@link AdaServeSelector} within the iteration's budget; {@link SpecPolicy#CHAIN}
 * and {@link SpecPolicy#TREE}: the whole fixed-shape tree, requests in order while the budget lasts), and
 * verifies what the target scored with the lossless {@link Verifier}.
 */
final class TreeSpeculator implements Speculator {
    private final CandidateTrees candidates;
    private final SpecPolicy policy;
    private final Verifier verifier;
    /** The tree each request was given this iteration, by request id, for its verification. */
    private final Map<Long, TokenTree> proposed = new HashMap<>();

    TreeSpeculator(CandidateTrees candidates, SpecPolicy policy, int vocabSize) {
        this.candidates = candidates;
        this.policy = policy;
        this.verifier = new Verifier(vocabSize);
    }

    @Override
    public void draft(TreeRound round) {
        proposed.clear();
        if (round.budget() == 0 || !policy.speculates()) {
            return;
        }
        List<Decoding> requests = new ArrayList<>(round.size());
        for (int i = 0; i < round.size(); i++) {
            requests.add(round.request(i));
        }
        if (policy.selects() && !round.surplus() && !anyNeeds(round, requests)) {
            return; // every request keeps its TPOT without a tree, and the time is finetuning's: draft nothing
        }
        TokenTree[] trees = candidates.grow(requests);
        int[] nodes = policy.selects() ? selected(round, requests, trees) : whole(round, trees);
        for (int i = 0; i < trees.length; i++) {
            TokenTree kept = trees[i].prefix(nodes[i]);
            proposed.put(requests.get(i).id(), kept);
            round.propose(i, draftTree(kept));
        }
    }

    /**
     * AdaServe: each request's share of the budget (its root included). Phase 1 meets the requests' needs; phase 2,
     * when surplus is allowed, spends only as much more of the budget as raises the expected tokens per millisecond:
     * where verifying a token costs a sizeable share of a decode (a CPU, a large batch), the likeliest nodes pay
     * for themselves and the unlikely ones would slow every request down.
     */
    private static int[] selected(TreeRound round, List<Decoding> requests, TokenTree[] trees) {
        double iterationMs = round.predictedMs(round.budget());
        List<SpecRequest> specs = new ArrayList<>(trees.length);
        for (int i = 0; i < trees.length; i++) {
            specs.add(specRequest(round, requests.get(i), trees[i]));
        }
        int roots = trees.length;
        int[] needs = AdaServeSelector.allocate(specs, round.budget() + roots, iterationMs, false);
        if (!round.surplus()) {
            return needs;
        }
        int[] best = needs;
        double bestRate = expectedTokens(trees, needs) / round.predictedMs(total(needs) - roots);
        int candidates = 0;
        for (TokenTree tree : trees) {
            candidates += tree.size();
        }
        // Past the candidates' own nodes a larger budget buys nothing: stop there, not at the iteration's budget.
        for (int budget = total(needs) + 1; budget <= Math.min(round.budget() + roots, candidates); budget++) {
            int[] nodes = AdaServeSelector.allocate(specs, budget, iterationMs, true);
            double rate = expectedTokens(trees, nodes) / round.predictedMs(total(nodes) - roots);
            if (rate > bestRate) {
                best = nodes;
                bestRate = rate;
            }
        }
        return best;
    }

    /** Whether a request must emit more than one token this iteration to stay on its TPOT schedule. */
    private static boolean anyNeeds(TreeRound round, List<Decoding> requests) {
        double iterationMs = round.predictedMs(0);
        for (Decoding r : requests) {
            SpecRequest spec = specRequest(round, r, TokenTree.root(r.token(r.length() - 1)));
            if (spec.need(iterationMs) > 1) {
                return true;
            }
        }
        return false;
    }

    private static SpecRequest specRequest(TreeRound round, Decoding r, TokenTree candidates) {
        return new SpecRequest(candidates, r.slo(), r.generated(),
                Math.max(0, round.nowNanos() / 1e6 - r.firstTokenNanos() / 1e6));
    }

    /** Σ over requests of 1 (the bonus) plus the path probabilities of its chosen nodes. */
    private static double expectedTokens(TokenTree[] trees, int[] nodes) {
        double expected = 0;
        for (int r = 0; r < trees.length; r++) {
            expected += 1;
            for (int node = 1; node < nodes[r]; node++) {
                expected += trees[r].probability(node);
            }
        }
        return expected;
    }

    private static int total(int[] nodes) {
        int total = 0;
        for (int n : nodes) {
            total += n;
        }
        return total;
    }

    /** Fixed shapes: each whole tree, in request order, while the budget lasts; the rest decode their roots. */
    private static int[] whole(TreeRound round, TokenTree[] trees) {
        int left = round.budget();
        int[] nodes = new int[trees.length];
        for (int i = 0; i < trees.length; i++) {
            nodes[i] = 1 + Math.min(left, trees[i].size() - 1);
            left -= nodes[i] - 1;
        }
        return nodes;
    }

    private static DraftTree draftTree(TokenTree tree) {
        int[] tokens = new int[tree.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = tree.token(i);
        }
        return new DraftTree(tokens, tree.parents());
    }

    @Override
    public Verdict verify(Decoding request, DraftTree tree, float[][] logits) {
        // The engine may have cut the proposal to what its budget and KV cache held: a prefix of it.
        TokenTree proposedTree = proposed.get(request.id());
        if (proposedTree == null || proposedTree.size() < tree.size()) {
            throw new IllegalStateException("request " + request.id() + " verifies a tree of " + tree.size()
                    + " nodes it was not proposed");
        }
        TokenTree verified = proposedTree.prefix(tree.size());
        Verification v = verifier.verify(verified, node -> logits[node], request.params(), request.history(),
                request.random());
        return new Verdict(v.path(), v.bonus());
    }

    @Override
    public void finished(long requestId) {
        candidates.finished(requestId);
    }
}
