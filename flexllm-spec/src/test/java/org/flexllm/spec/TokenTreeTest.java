package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TokenTreeTest {
    /**
     * <pre>
     *        0 (7)
     *      /      \
     *   1 (3)    2 (4)
     *   /   \       \
     * 3 (5) 4 (6)   5 (8)
     * </pre>
     */
    static TokenTree sample() {
        TokenTree.Builder b = TokenTree.builder(7);
        b.add(0, 3, Math.log(0.6));
        b.add(0, 4, Math.log(0.3));
        b.add(1, 5, Math.log(0.6 * 0.5));
        b.add(1, 6, Math.log(0.6 * 0.2));
        b.add(2, 8, Math.log(0.3 * 0.9));
        return b.build();
    }

    @Test
    void nodesKnowParentTokenDepthAndScore() {
        TokenTree tree = sample();
        assertEquals(6, tree.size());
        assertArrayEquals(new int[] {-1, 0, 0, 1, 1, 2}, tree.parents());
        assertEquals(7, tree.token(0));
        assertEquals(0, tree.depth(0));
        assertEquals(2, tree.depth(5));
        assertEquals(0, tree.logp(0));
        assertEquals(0.27, tree.probability(5), 1e-12);
        for (int i = 1; i < tree.size(); i++) {
            assertTrue(tree.parent(i) < i);
            assertTrue(tree.logp(i) <= tree.logp(tree.parent(i)));
            assertEquals(tree.depth(tree.parent(i)) + 1, tree.depth(i));
        }
    }

    @Test
    void childrenAreWalkedInIndexOrder() {
        TokenTree tree = sample();
        assertEquals(1, tree.firstChild(0));
        assertEquals(2, tree.nextSibling(1));
        assertEquals(-1, tree.nextSibling(2));
        assertEquals(-1, tree.firstChild(3));
        assertEquals(4, tree.child(1, 6));
        assertEquals(-1, tree.child(1, 8));
    }

    @Test
    void ancestorMaskHoldsTheNodeAndItsAncestors() {
        TokenTree tree = sample();
        long[] mask = new long[tree.maskWords()];
        tree.ancestorMask(4, mask);
        assertEquals(0b10011L, mask[0]);
        tree.ancestorMask(0, mask);
        assertEquals(1L, mask[0]);
    }

    @Test
    void ancestorMaskSpansSeveralWords() {
        TokenTree.Builder chain = TokenTree.builder(0);
        for (int i = 1; i < 70; i++) {
            chain.add(i - 1, i, -i);
        }
        TokenTree tree = chain.build();
        long[] mask = new long[tree.maskWords()];
        tree.ancestorMask(69, mask);
        assertEquals(2, mask.length);
        assertEquals(-1L, mask[0]);
        assertEquals(0b111111L, mask[1]);
    }

    @Test
    void pathsRunFromTheRootToEveryLeaf() {
        List<int[]> paths = sample().paths();
        assertEquals(3, paths.size());
        assertArrayEquals(new int[] {0, 1, 3}, paths.get(0));
        assertArrayEquals(new int[] {0, 1, 4}, paths.get(1));
        assertArrayEquals(new int[] {0, 2, 5}, paths.get(2));
    }

    @Test
    void everyPrefixIsAConnectedSubtree() {
        TokenTree tree = sample();
        for (int m = 1; m <= tree.size(); m++) {
            TokenTree prefix = tree.prefix(m);
            assertEquals(m, prefix.size());
            for (int i = 1; i < m; i++) {
                assertTrue(prefix.parent(i) < i);
                assertEquals(tree.token(i), prefix.token(i));
            }
        }
        assertEquals(-1, tree.prefix(2).nextSibling(1), "the cut-off sibling is gone");
        assertThrows(IllegalArgumentException.class, () -> tree.prefix(0));
        assertThrows(IllegalArgumentException.class, () -> tree.prefix(7));
    }

    @Test
    void heapOrderSortsByPathProbabilityParentsFirst() {
        TokenTree heap = sample().inHeapOrder();
        // probabilities 1, .6, .3, .3, .12, .27: the .3 tie keeps the shallower node first
        assertArrayEquals(new int[] {7, 3, 4, 5, 8, 6}, tokens(heap));
        assertArrayEquals(new int[] {-1, 0, 0, 1, 2, 1}, heap.parents());
        for (int i = 1; i < heap.size(); i++) {
            assertTrue(heap.logp(i) <= heap.logp(i - 1));
        }
    }

    @Test
    void heapOrderKeepsAParentBeforeAnEquallyScoredChild() {
        TokenTree.Builder b = TokenTree.builder(1);
        b.add(0, 2, -1);
        b.add(0, 3, -0.5);
        b.add(1, 4, -1);
        TokenTree heap = b.build().inHeapOrder();
        assertArrayEquals(new int[] {1, 3, 2, 4}, tokens(heap));
        assertEquals(2, heap.parent(3));
    }

    @Test
    void builderRejectsBrokenInvariants() {
        TokenTree.Builder b = TokenTree.builder(1);
        b.add(0, 2, -1);
        assertThrows(IllegalArgumentException.class, () -> b.add(2, 3, -2), "parent not added yet");
        assertThrows(IllegalArgumentException.class, () -> b.add(1, 3, -0.5), "child above its parent");
        assertThrows(IllegalArgumentException.class, () -> b.add(1, 3, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> b.add(1, 3, Double.NEGATIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> b.add(1, -3, -2));
        assertThrows(IllegalArgumentException.class, () -> b.add(0, 2, -3), "a second child with token 2");
        assertThrows(IllegalArgumentException.class, () -> TokenTree.root(-1));
    }

    @Test
    void aRootAloneIsPlainDecoding() {
        TokenTree root = TokenTree.root(5);
        assertEquals(1, root.size());
        assertEquals(1, root.paths().size());
        assertArrayEquals(new int[] {0}, root.path(0));
    }

    static int[] tokens(TokenTree tree) {
        int[] tokens = new int[tree.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = tree.token(i);
        }
        return tokens;
    }
}
