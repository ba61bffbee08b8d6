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
 * @param visible     per token: how many of its sequence's positions it attends to (position + 1)
 * @param blockTables per sequence: the KV blocks holding positions {@code [i·blockSize, (i+1)·blockSize)}
 */
public record AttentionBatch(int heads, int kvHeads, int headDim, int blockSize, int n, int[] slot,
                             int[] sequence, int[] visible, int[][] blockTables) {

    /** KV slot of the {@code position}-th token of a sequence with this block table. */
    public static int slotOf(int[] blockTable, int position, int blockSize) {
        return blockTable[position / blockSize] * blockSize + position % blockSize;
    }
}
