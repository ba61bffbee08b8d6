package org.flexllm.sampling;

import java.util.Arrays;
import java.util.Objects;

/**
 * The distinct token ids one sequence has seen so far (prompt and output), which the repetition penalty
 * needs. The engine keeps one per sequence and adds each prompt and generated token; a bit per vocabulary id
 * makes {@link #add} O(1) and the penalty O(distinct ids). Mutable and not thread-safe: the engine thread owns it.
 */
public final class TokenHistory {
    private final int vocabSize;
    private final long[] seen;
    private int[] distinct = new int[64];
    private int size;

    /** An empty history for a vocabulary of {@code vocabSize} ids. */
    public TokenHistory(int vocabSize) {
        this.vocabSize = vocabSize;
        this.seen = new long[(vocabSize + 63) / 64];
    }

    /**
     * Records that {@code id} occurred; ids seen before are ignored.
     *
     * @throws IllegalArgumentException when id is outside the vocabulary
     */
    public void add(int id) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + vocabSize);
        }
        long bit = 1L << id;
        if ((seen[id >>> 6] & bit) != 0) {
            return;
        }
        seen[id >>> 6] |= bit;
        if (size == distinct.length) {
            distinct = Arrays.copyOf(distinct, 2 * size);
        }
        distinct[size++] = id;
    }

    /** Records every id of {@code ids}, e.g. a prompt. */
    public void addAll(int[] ids) {
        for (int id : ids) {
            add(id);
        }
    }

    /** How many distinct ids have been seen. */
    public int size() {
        return size;
    }

    /** The {@code index}-th distinct id, in order of first occurrence. */
    public int id(int index) {
        return distinct[Objects.checkIndex(index, size)];
    }
}
