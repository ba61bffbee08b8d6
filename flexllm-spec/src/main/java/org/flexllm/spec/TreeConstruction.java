package org.flexllm.spec;

import java.util.Arrays;
import java.util.Objects;

/**
 * Builds a request's speculation tree as AdaServe does: level by level, expands every frontier node with the
 * draft's top-k children, scores each child by its path log-probability (its parent's plus the log of the
 * draft's probability, so never above its parent) and keeps the best {@code width} of the level as the next
 * frontier, until {@code depth} levels. {@link #tree()} is in heap order ({@link TokenTree#inHeapOrder}), so
 * that any prefix is the connected subtree of the most promising candidates that selection can cut.
 *
 * <p>{@link #build} runs the whole loop with a {@link Drafter}. An engine that drafts with a model can drive
 * the levels itself, so that one draft forward pass serves the frontiers of every request:
 * <pre>{@code
 * construction.start(context, length);
 * while (construction.growing()) {
 *     for (int i = 0; i < construction.frontierSize(); i++) {
 *         // draft after construction.sequence()[0..construction.sequenceOf(i)), then:
 *         construction.children(i, proposals);
 *     }
 *     construction.endLevel();
 * }
 * TokenTree candidates = construction.tree();
 * }</pre>
 * One instance per request being built; it keeps its buffers between trees. Not thread-safe.
 */
public final class TreeConstruction {
    private final TreeShape shape;
    private final Proposals proposals;
    private int[] sequence = new int[0];
    private int contextLength;
    private TokenTree.Builder grown;
    /** The tree as grown so far, in creation order: the frontier is its last nodes. */
    private TokenTree sofar;
    private int frontierFrom;
    private int level;
    /** The candidates of the level being expanded: parent node, token, path log-probability. */
    private final int[] levelParent;
    private final int[] levelToken;
    private final double[] levelLogp;
    private final Integer[] levelOrder;
    private int levelSize;

    /** A construction growing trees of {@code shape}. */
    public TreeConstruction(TreeShape shape) {
        this.shape = shape;
        this.proposals = new Proposals(shape.topK());
        int most = shape.width() * shape.topK();
        levelParent = new int[most];
        levelToken = new int[most];
        levelLogp = new double[most];
        levelOrder = new Integer[most];
    }

    /** The shape this construction grows. */
    public TreeShape shape() {
        return shape;
    }

    /** The whole tree for a request whose committed tokens are {@code context[0..length)}, drafted by drafter. */
    public TokenTree build(Drafter drafter, int[] context, int length) {
        start(context, length);
        while (growing()) {
            for (int i = 0; i < frontierSize(); i++) {
                drafter.propose(sequence, sequenceOf(i), shape.topK(), proposals);
                children(i, proposals);
            }
            endLevel();
        }
        return tree();
    }

    /**
     * Starts a tree whose root is the last of the committed tokens {@code context[0..length)}.
     *
     * @throws IllegalArgumentException when the context is empty
     */
    public void start(int[] context, int length) {
        if (length < 1) {
            throw new IllegalArgumentException("a speculation tree grows from the last committed token; the"
                    + " context is empty");
        }
        if (sequence.length < length + shape.depth()) {
            sequence = new int[length + shape.depth()];
        }
        System.arraycopy(context, 0, sequence, 0, length);
        contextLength = length;
        grown = TokenTree.builder(context[length - 1]);
        sofar = grown.build();
        frontierFrom = 0;
        level = 0;
        levelSize = 0;
    }

    /** Whether another level is to be expanded: the depth is not reached and the frontier is not empty. */
    public boolean growing() {
        return level < shape.depth() && frontierSize() > 0;
    }

    /** The nodes of the level to expand next (the root alone at first). */
    public int frontierSize() {
        return sofar.size() - frontierFrom;
    }

    /** The index, in {@link #grown()}, of the i-th frontier node. */
    public int frontierNode(int i) {
        return frontierFrom + Objects.checkIndex(i, frontierSize());
    }

    /**
     * Writes the committed tokens and then the draft path of the i-th frontier node (the root's child down to
     * it) into {@link #sequence()}, and returns that length: the input a drafter proposes after.
     */
    public int sequenceOf(int i) {
        int node = frontierNode(i);
        int end = contextLength + sofar.depth(node);
        for (int j = node, at = end - 1; j != 0; j = sofar.parent(j), at--) {
            sequence[at] = sofar.token(j);
        }
        return end;
    }

    /** The buffer {@link #sequenceOf} writes into; valid until the next call. */
    public int[] sequence() {
        return sequence;
    }

    /** Takes up to top-k of the draft's proposals as candidate children of the i-th frontier node. */
    public void children(int i, Proposals drafted) {
        int node = frontierNode(i);
        for (int c = 0; c < Math.min(shape.topK(), drafted.size()); c++) {
            levelParent[levelSize] = node;
            levelToken[levelSize] = drafted.token(c);
            levelLogp[levelSize++] = sofar.logp(node) + StrictMath.log(drafted.probability(c));
        }
    }

    /** Keeps the best {@code width} candidates of the level (ties: the earlier offered); they become the frontier. */
    public void endLevel() {
        for (int c = 0; c < levelSize; c++) {
            levelOrder[c] = c;
        }
        Arrays.sort(levelOrder, 0, levelSize, (a, b) -> Double.compare(levelLogp[b], levelLogp[a]));
        frontierFrom = grown.size();
        for (int c = 0; c < Math.min(shape.width(), levelSize); c++) {
            int kept = levelOrder[c];
            grown.add(levelParent[kept], levelToken[kept], levelLogp[kept]);
        }
        sofar = grown.build();
        levelSize = 0;
        level++;
    }

    /** The tree grown so far in creation order, level by level; {@link #frontierNode} indexes it. */
    public TokenTree grown() {
        return sofar;
    }

    /** The tree grown so far in heap order: the request's candidates for selection. */
    public TokenTree tree() {
        return sofar.inHeapOrder();
    }
}
