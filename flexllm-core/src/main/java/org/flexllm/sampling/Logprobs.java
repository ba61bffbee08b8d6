package org.flexllm.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities of one logits row (one position, vocabulary-wide): log-softmax, the k largest entries, and
 * the chosen token with its alternatives. Used for generated tokens, prompt logprobs and scoring. The
 * vocabulary-wide sum is accumulated in double so that a 152k-entry row loses no precision; results are float
 * like the logits.
 */
public final class Logprobs {
    private Logprobs() {
    }

    /** {@code log(sum(exp(row)))}, shifted by the row's maximum so that no exponent overflows. */
    public static double logSumExp(float[] row) {
        float max = RowKernels.max(row);
        return max + StrictMath.log(RowKernels.sumExp(row, max));
    }

    /** Writes {@code log_softmax(row)} into {@code out}, which may be {@code row} itself. */
    public static void logSoftmax(float[] row, float[] out) {
        double logSumExp = logSumExp(row);
        for (int i = 0; i < row.length; i++) {
            out[i] = (float) (row[i] - logSumExp);
        }
    }

    /**
     * Token {@code id} with its log-probability in {@code row} and the {@code top} most likely tokens of the row
     * (fewer when the row is shorter); {@code top = 0} gives the token's log-probability alone.
     */
    public static SampledToken forToken(float[] row, int id, int top) {
        double logSumExp = logSumExp(row);
        int[] ids = new int[Math.min(top, row.length)];
        topK(row, ids.length, ids);
        List<TokenLogprob> alternatives = new ArrayList<>(ids.length);
        for (int alternative : ids) {
            alternatives.add(new TokenLogprob(alternative, (float) (row[alternative] - logSumExp)));
        }
        return new SampledToken(id, (float) (row[id] - logSumExp), alternatives);
    }

    /**
     * Writes the ids of the {@code k} largest entries of {@code row} into {@code out[0..k)}, largest first; equal
     * values rank the lower id first. A bounded min-heap over the row: O(V log k) time, no allocation.
     *
     * @throws IllegalArgumentException when k is negative, exceeds the row length, or out is shorter than k
     */
    public static void topK(float[] row, int k, int[] out) {
        if (k < 0 || k > row.length || k > out.length) {
            throw new IllegalArgumentException("top-k needs 0 <= k <= row length " + row.length
                    + " and an output of at least k entries (" + out.length + "), got k = " + k);
        }
        if (k == 0) {
            return;
        }
        // out[0..k) is a heap whose root is the worst of the k best seen so far.
        for (int i = 0; i < k; i++) {
            out[i] = i;
        }
        heapify(row, out, k);
        // Later ids lose ties, so only a strictly larger value displaces the root; the vector scan skips the rest.
        for (int i = nextAbove(row, k, out[0]); i < row.length; i = nextAbove(row, i + 1, out[0])) {
            out[0] = i;
            siftDown(row, out, 0, k);
        }
        sortHeap(row, out, k);
    }

    private static int nextAbove(float[] row, int from, int root) {
        return RowKernels.firstAbove(row, from, row[root]);
    }

    /** Reorders {@code ids[0..n)} best first by their values in {@code row}; equal values rank the lower id first. */
    static void rank(float[] row, int[] ids, int n) {
        heapify(row, ids, n);
        sortHeap(row, ids, n);
    }

    private static void heapify(float[] row, int[] heap, int size) {
        for (int node = size / 2 - 1; node >= 0; node--) {
            siftDown(row, heap, node, size);
        }
    }

    /** Heapsort: moving the root (the worst) to the back each time leaves the best at the front. */
    private static void sortHeap(float[] row, int[] heap, int size) {
        for (int end = size - 1; end > 0; end--) {
            int worst = heap[0];
            heap[0] = heap[end];
            heap[end] = worst;
            siftDown(row, heap, 0, end);
        }
    }

    /** Restores the heap below {@code node}: every parent ranks at or below its children. */
    private static void siftDown(float[] row, int[] heap, int node, int size) {
        while (true) {
            int worst = node;
            int left = 2 * node + 1;
            int right = left + 1;
            if (left < size && ranksAbove(row, heap[worst], heap[left])) {
                worst = left;
            }
            if (right < size && ranksAbove(row, heap[worst], heap[right])) {
                worst = right;
            }
            if (worst == node) {
                return;
            }
            int moved = heap[node];
            heap[node] = heap[worst];
            heap[worst] = moved;
            node = worst;
        }
    }

    /** Whether token a ranks above token b: a larger value, or an equal value and a lower id. */
    private static boolean ranksAbove(float[] row, int a, int b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
    }
}
