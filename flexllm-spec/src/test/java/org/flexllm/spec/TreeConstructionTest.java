package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

class TreeConstructionTest {
    private static final int[] CONTEXT = {3, 1, 4, 1, 5};
    private final ToyModel draft = new ToyModel(12, 99, 1.5);

    @Test
    void keepsTheBestWidthNodesOfEveryLevel() {
        TreeShape shape = new TreeShape(3, 4, 3);
        TokenTree tree = new TreeConstruction(shape).build(draft.drafter(), CONTEXT, CONTEXT.length);
        List<Candidate> level = List.of(new Candidate(new int[0], 0));
        for (int depth = 1; depth <= shape.depth(); depth++) {
            level = bestChildren(level, shape);
            assertEquals(level.size(), countAtDepth(tree, depth), "level " + depth);
            for (Candidate expected : level) {
                int node = find(tree, expected.tokens());
                assertTrue(node > 0, "level " + depth + " keeps " + Arrays.toString(expected.tokens()));
                assertEquals(expected.logp(), tree.logp(node), 1e-9);
            }
        }
        assertEquals(shape.maxNodes(), tree.size());
    }

    @Test
    void theTreeIsInHeapOrderSoEveryPrefixIsConnected() {
        TokenTree tree = new TreeConstruction(new TreeShape(4, 3, 3)).build(draft.drafter(), CONTEXT, CONTEXT.length);
        assertEquals(CONTEXT[CONTEXT.length - 1], tree.token(0));
        for (int i = 1; i < tree.size(); i++) {
            assertTrue(tree.logp(i) <= tree.logp(i - 1), "heap order at node " + i);
            assertTrue(tree.parent(i) < i, "node " + i + " has its parent in every prefix that holds it");
            assertTrue(tree.logp(i) <= tree.logp(tree.parent(i)));
        }
    }

    @Test
    void aChainFollowsTheDraftsTopToken() {
        TokenTree chain = new TreeConstruction(TreeShape.chain(5)).build(draft.drafter(), CONTEXT, CONTEXT.length);
        assertEquals(6, chain.size());
        int[] sequence = Arrays.copyOf(CONTEXT, CONTEXT.length + 5);
        for (int i = 1; i < chain.size(); i++) {
            assertEquals(i - 1, chain.parent(i));
            double[] p = draft.probabilities(sequence, CONTEXT.length + i - 1);
            int top = argmax(p);
            assertEquals(top, chain.token(i));
            sequence[CONTEXT.length + i - 1] = top;
        }
    }

    @Test
    void aDrafterWithoutProposalsLeavesTheRootAlone() {
        TokenTree tree = new TreeConstruction(TreeShape.tree(2, 3)).build(new NgramDrafter(), CONTEXT, 3);
        assertArrayEquals(new int[] {-1}, tree.parents());
        assertEquals(4, tree.token(0));
        assertThrows(IllegalArgumentException.class,
                () -> new TreeConstruction(TreeShape.chain(2)).build(new NgramDrafter(), CONTEXT, 0));
    }

    @Test
    void ngramTreesGrowFromRepeatedText() {
        int[] text = {7, 8, 9, 10, 11, 2, 7, 8, 9};
        TokenTree chain = new TreeConstruction(TreeShape.chain(3)).build(new NgramDrafter(), text, text.length);
        assertArrayEquals(new int[] {9, 10, 11, 2}, TokenTreeTest.tokens(chain));
    }

    @Test
    void levelsCanBeDrivenOneAtATime() {
        TreeShape shape = new TreeShape(3, 3, 2);
        TreeConstruction construction = new TreeConstruction(shape);
        construction.start(CONTEXT, CONTEXT.length);
        Proposals proposals = new Proposals(2);
        int levels = 0;
        while (construction.growing()) {
            for (int i = 0; i < construction.frontierSize(); i++) {
                int node = construction.frontierNode(i);
                int length = construction.sequenceOf(i);
                assertEquals(CONTEXT.length + construction.grown().depth(node), length);
                int[] path = construction.grown().path(node);
                for (int d = 1; d < path.length; d++) {
                    assertEquals(construction.grown().token(path[d]), construction.sequence()[CONTEXT.length + d - 1]);
                }
                draft.drafter().propose(construction.sequence(), length, shape.topK(), proposals);
                construction.children(i, proposals);
            }
            construction.endLevel();
            levels++;
        }
        assertEquals(3, levels);
        TokenTree whole = new TreeConstruction(shape).build(draft.drafter(), CONTEXT, CONTEXT.length);
        assertArrayEquals(whole.parents(), construction.tree().parents());
        assertArrayEquals(TokenTreeTest.tokens(whole), TokenTreeTest.tokens(construction.tree()));
    }

    /** The best {@code width} children of a level, computed plainly from the drafter's proposals. */
    private List<Candidate> bestChildren(List<Candidate> level, TreeShape shape) {
        List<Candidate> children = new ArrayList<>();
        Proposals proposals = new Proposals(shape.topK());
        for (Candidate parent : level) {
            int[] sequence = Arrays.copyOf(CONTEXT, CONTEXT.length + parent.tokens().length + 1);
            System.arraycopy(parent.tokens(), 0, sequence, CONTEXT.length, parent.tokens().length);
            draft.drafter().propose(sequence, CONTEXT.length + parent.tokens().length, shape.topK(), proposals);
            for (int i = 0; i < proposals.size(); i++) {
                int[] tokens = Arrays.copyOf(parent.tokens(), parent.tokens().length + 1);
                tokens[tokens.length - 1] = proposals.token(i);
                children.add(new Candidate(tokens, parent.logp() + Math.log(proposals.probability(i))));
            }
        }
        children.sort(Comparator.comparingDouble(c -> -c.logp()));
        return children.subList(0, Math.min(shape.width(), children.size()));
    }

    private static int countAtDepth(TokenTree tree, int depth) {
        int count = 0;
        for (int i = 0; i < tree.size(); i++) {
            count += tree.depth(i) == depth ? 1 : 0;
        }
        return count;
    }

    /** The node whose draft tokens below the root are {@code tokens}, or -1. */
    private static int find(TokenTree tree, int[] tokens) {
        for (int node = 1; node < tree.size(); node++) {
            int[] path = tree.path(node);
            int[] pathTokens = Arrays.stream(path).skip(1).map(tree::token).toArray();
            if (Arrays.equals(pathTokens, tokens)) {
                return node;
            }
        }
        return -1;
    }

    private static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            best = p[i] > p[best] ? i : best;
        }
        return best;
    }

    private record Candidate(int[] tokens, double logp) {
    }
}
