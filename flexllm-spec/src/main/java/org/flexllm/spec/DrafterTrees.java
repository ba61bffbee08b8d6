package org.flexllm.spec;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.flexllm.speculation.Decoding;

/** Candidate trees grown by a {@link Drafter} per request (n-gram lookup, the oracle simulation). */
final class DrafterTrees implements CandidateTrees {
    private final Function<Decoding, Drafter> drafterOf;
    private final TreeConstruction construction;
    private final Map<Long, Drafter> drafters = new HashMap<>();
    private int[] context = new int[0];

    /** @param drafterOf makes a request's drafter, once, when it first decodes */
    DrafterTrees(Function<Decoding, Drafter> drafterOf, TreeShape shape) {
        this.drafterOf = drafterOf;
        this.construction = new TreeConstruction(shape);
    }

    @Override
    public TokenTree[] grow(List<Decoding> requests) {
        TokenTree[] trees = new TokenTree[requests.size()];
        for (int i = 0; i < trees.length; i++) {
            Decoding r = requests.get(i);
            Drafter drafter = drafters.computeIfAbsent(r.id(), id -> drafterOf.apply(r));
            trees[i] = construction.build(drafter, tokens(r), r.length());
        }
        return trees;
    }

    /** The request's tokens, in a buffer reused between requests. */
    private int[] tokens(Decoding r) {
        if (context.length < r.length()) {
            context = new int[Math.max(r.length(), 2 * context.length)];
        }
        for (int p = 0; p < r.length(); p++) {
            context[p] = r.token(p);
        }
        return context;
    }

    @Override
    public void finished(long requestId) {
        drafters.remove(requestId);
    }
}
