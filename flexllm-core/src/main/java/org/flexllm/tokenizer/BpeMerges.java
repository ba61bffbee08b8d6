package org.flexllm.tokenizer;

import java.util.Arrays;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The merge table of a BPE model and the merge loop: repeatedly join the adjacent pair of symbols
 * with the lowest rank (leftmost first on ties) until no adjacent pair has a merge.
 */
final class BpeMerges {
    private static final int REMOVED = -1;

    private final Map<Long, Integer> rankOfPair;
    private final int[] resultOfRank;

    /**
     * Takes ownership of both tables, which the caller must not change afterwards.
     *
     * @param rankOfPair   {@link #pair} of the two ids → the merge's rank (its line in the file)
     * @param resultOfRank rank → the id of the joined token
     */
    BpeMerges(Map<Long, Integer> rankOfPair, int[] resultOfRank) {
        this.rankOfPair = rankOfPair;
        this.resultOfRank = resultOfRank;
    }

    /**
     * The map key of a pair of ids. Multiplying by an odd constant is a bijection on longs, so keys stay
     * distinct, and it spreads the bits: {@link Long#hashCode} of the plain packing is {@code left ^ right},
     * which collides for most pairs of a 100k vocabulary.
     */
    static long pair(int left, int right) {
        return (((long) left << 32) | (right & 0xFFFFFFFFL)) * 0x9E3779B97F4A7C15L;
    }

    /**
     * Merges {@code symbols} in place as far as the table allows and returns the surviving ids.
     * Symbols form a linked list (by position) so that a merge costs O(log n) for the queue update.
     */
    int[] apply(int[] symbols) {
        int n = symbols.length;
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1;
        }
        // Entries are (rank << 32 | position): the natural order is lowest rank, then leftmost.
        PriorityQueue<Long> queue = new PriorityQueue<>(Math.max(1, n));
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, symbols, next, i);
        }
        while (!queue.isEmpty()) {
            long entry = queue.poll();
            int rank = (int) (entry >>> 32);
            int left = (int) entry;
            int right = next[left];
            // A stale entry: the left symbol was absorbed, or either side changed since it was queued.
            if (symbols[left] == REMOVED || right >= n || rank(symbols[left], symbols[right]) != rank) {
                continue;
            }
            symbols[left] = resultOfRank[rank];
            symbols[right] = REMOVED;
            next[left] = next[right];
            if (next[left] < n) {
                prev[next[left]] = left;
            }
            if (prev[left] >= 0) {
                offer(queue, symbols, next, prev[left]);
            }
            if (next[left] < n) {
                offer(queue, symbols, next, left);
            }
        }
        return Arrays.stream(symbols).filter(id -> id != REMOVED).toArray();
    }

    private void offer(PriorityQueue<Long> queue, int[] symbols, int[] next, int left) {
        int rank = rank(symbols[left], symbols[next[left]]);
        if (rank >= 0) {
            queue.add(((long) rank << 32) | left);
        }
    }

    private int rank(int left, int right) {
        Integer rank = rankOfPair.get(pair(left, right));
        return rank == null ? -1 : rank;
    }
}
