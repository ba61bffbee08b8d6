package org.flexllm.backend;

/**
 * What attention needs to know about an iteration's flat batch. Arrays are sized for the largest batch and
 * reused; only the first {@code n} entries (tokens) or {@code sequences} entries are meaningful.
 *
 * @param heads       query heads
 * @param kvHeads     key/value heads
 * @param headDim     per-head width
 * @param blockSize   KV slots per block
 * @param n           tokens in the batch
 * @param slot        per token: the KV-cache slot its key and value are written to
 * @param sequence    per token: index into {@code blockTables}
 * @param visible     per token: how many of its sequence's cache positions it may attend to (position + 1,
 *                    or for a token-tree node its storage index + 1)
 * @param treeStart   per token: the cache position where its token tree starts (every position before it is
 *                    attended); {@code visible} or more for a token outside any tree; null when the batch has
 *                    no tree at all
 * @param ancestors   per token: of the tree positions {@code [treeStart, visible)}, the bitmask of those it
 *                    attends to (its ancestors and itself, bit {@code j} for position {@code treeStart + j});
 *                    read only for tokens with {@code treeStart < visible}
 * @param blockTables per sequence: the KV blocks holding positions {@code [i·blockSize, (i+1)·blockSize)}
 */
public record AttentionBatch(int heads, int kvHeads, int headDim, int blockSize, int n, int[] slot,
                             int[] sequence, int[] visible, int[] treeStart, long[] ancestors,
                             int[][] blockTables) {
    /** The largest token tree a sequence may verify in one pass: its ancestor mask is one {@code long}. */
    public static final int MAX_TREE_NODES = Long.SIZE;

    /** A batch without token trees: every token attends causally to its sequence's first {@code visible}. */
    public AttentionBatch(int heads, int kvHeads, int headDim, int blockSize, int n, int[] slot, int[] sequence,
                          int[] visible, int[][] blockTables) {
        this(heads, kvHeads, headDim, blockSize, n, slot, sequence, visible, null, null, blockTables);
    }

    /** Whether token {@code t} attends to cache position {@code j} (below its {@code visible}). */
    public boolean attends(int t, int j) {
        return treeStart == null || j < treeStart[t] || (ancestors[t] >>> (j - treeStart[t]) & 1) != 0;
    }

    /** KV slot of the {@code position}-th token of a sequence with this block table. */
    public static int slotOf(int[] blockTable, int position, int blockSize) {
        return blockTable[position / blockSize] * blockSize + position % blockSize;
    }
}
