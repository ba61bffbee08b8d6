package org.flexllm.spec;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.engine.DraftModel;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;

/**
 * Candidate trees grown by a draft model, one level at a time for all requests together: each level is one draft
 * forward pass over every request's tree so far, whose frontier nodes' logits propose the next level (their top-k).
 */
final class ModelTrees implements CandidateTrees {
    private final DraftModel model;
    private final TreeShape shape;
    private final List<TreeConstruction> constructions = new ArrayList<>();
    private final Proposals proposals = new Proposals(8);

    ModelTrees(DraftModel model, TreeShape shape) {
        this.model = model;
        this.shape = shape;
    }

    @Override
    public TokenTree[] grow(List<Decoding> requests) {
        while (constructions.size() < requests.size()) {
            constructions.add(new TreeConstruction(shape));
        }
        for (int i = 0; i < requests.size(); i++) {
            Decoding r = requests.get(i);
            int[] context = new int[r.length()];
            for (int p = 0; p < context.length; p++) {
                context[p] = r.token(p);
            }
            constructions.get(i).start(context, context.length);
        }
        for (int level = 0; level < shape.depth(); level++) {
            expand(requests);
        }
        TokenTree[] trees = new TokenTree[requests.size()];
        for (int i = 0; i < trees.length; i++) {
            trees[i] = constructions.get(i).tree();
        }
        return trees;
    }

    /** One draft pass over every growing tree, then each frontier node's children from its logits. */
    private void expand(List<Decoding> requests) {
        List<Decoding> growing = new ArrayList<>();
        List<DraftTree> trees = new ArrayList<>();
        List<float[][]> logits = new ArrayList<>();
        List<TreeConstruction> scored = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            TreeConstruction c = constructions.get(i);
            if (c.growing()) {
                TokenTree sofar = c.grown();
                growing.add(requests.get(i));
                trees.add(new DraftTree(tokens(sofar), sofar.parents()));
                logits.add(new float[sofar.size()][model.vocabSize()]);
                scored.add(c);
            }
        }
        if (growing.isEmpty()) {
            return;
        }
        boolean[] done = model.score(growing, trees, logits);
        for (int i = 0; i < scored.size(); i++) {
            TreeConstruction c = scored.get(i);
            // A request the pass had no room for stops growing: its tree is what it has so far.
            for (int f = 0; done[i] && f < c.frontierSize(); f++) {
                TopK.of(logits.get(i)[c.frontierNode(f)], shape.topK(), proposals);
                c.children(f, proposals);
            }
            c.endLevel();
        }
    }

    private static int[] tokens(TokenTree tree) {
        int[] tokens = new int[tree.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = tree.token(i);
        }
        return tokens;
    }

    @Override
    public void finished(long requestId) {
        model.release(requestId);
    }

    @Override
    public void close() {
        model.close();
    }
}
