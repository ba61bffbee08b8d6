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
        TokenTree[] trees = candidates.grow(requests);
        int[] nodes = policy.selects() ? selected(round, requests, trees) : whole(round, trees);
        for (int i = 0; i < trees.length; i++) {
            TokenTree kept = trees[i].prefix(nodes[i]);
            proposed.put(requests.get(i).id(), kept);
            round.propose(i, draftTree(kept));
        }
    }

    /** AdaServe: each request's share of the budget (its root included), phase 2 only when surplus is allowed. */
    private static int[] selected(TreeRound round, List<Decoding> requests, TokenTree[] trees) {
        double iterationMs = round.predictedMs(round.budget());
        double nowMs = round.nowNanos() / 1e6;
        List<SpecRequest> specs = new ArrayList<>(trees.length);
        for (int i = 0; i < trees.length; i++) {
            Decoding r = requests.get(i);
            specs.add(new SpecRequest(trees[i], r.slo(), r.generated(),
                    Math.max(0, nowMs - r.firstTokenNanos() / 1e6)));
        }
        return AdaServeSelector.allocate(specs, round.budget() + trees.length, iterationMs, round.surplus());
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
