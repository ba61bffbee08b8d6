package org.flexllm.sampling;

import java.util.Arrays;
import java.util.Objects;

/**
 * What one sequence has seen so far, as the penalties need it: the distinct ids of its prompt (the repetition
 * penalty counts them) and its generated tokens in order (all three penalties count them; the presence and
 * frequency penalties count only these, as vLLM does). The engine keeps one per sequence, records the prompt
 * once and adds each generated token; a bit per vocabulary id makes the prompt's ids distinct in O(1) each.
 * Mutable and not thread-safe: the engine thread owns it.
 */
public final class TokenHistory {
    private final int vocabSize;
    private final long[] inPrompt;
    private int[] promptIds = new int[64];
    private int promptSize;
    private int[] generated = new int[64];
    private int generatedSize;

    /** An empty history for a vocabulary of {@code vocabSize} ids. */
    public TokenHistory(int vocabSize) {
        this.vocabSize = vocabSize;
        this.inPrompt = new long[(vocabSize + 63) / 64];
    }

    /**
     * Records prompt tokens; ids the prompt held before are ignored.
     *
     * @throws IllegalArgumentException when an id is outside the vocabulary
     */
    public void addPrompt(int[] ids) {
        for (int id : ids) {
            long bit = 1L << checked(id);
            if ((inPrompt[id >>> 6] & bit) == 0) {
                inPrompt[id >>> 6] |= bit;
                promptIds = grown(promptIds, promptSize);
                promptIds[promptSize++] = id;
            }
        }
    }

    /**
     * Records a generated token.
     *
     * @throws IllegalArgumentException when id is outside the vocabulary
     */
    public void add(int id) {
        generated = grown(generated, generatedSize);
        generated[generatedSize++] = checked(id);
    }

    /**
     * Forgets the generated tokens after the first {@code count}: a speculative verifier adds the tokens it
     * accepts while it walks a tree, and takes them back for the engine to commit.
     *
     * @throws IndexOutOfBoundsException when fewer than {@code count} tokens were generated
     */
    public void truncate(int count) {
        generatedSize = Objects.checkIndex(count, generatedSize + 1);
    }

    /** How many distinct ids the prompt holds. */
    public int promptIds() {
        return promptSize;
    }

    /** The {@code index}-th distinct prompt id, in order of first occurrence. */
    public int promptId(int index) {
        return promptIds[Objects.checkIndex(index, promptSize)];
    }

    /** How many tokens were generated. */
    public int generated() {
        return generatedSize;
    }

    /** The {@code index}-th generated token. */
    public int generatedId(int index) {
        return generated[Objects.checkIndex(index, generatedSize)];
    }

    private int checked(int id) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + vocabSize);
        }
        return id;
    }

    private static int[] grown(int[] ids, int size) {
        return size < ids.length ? ids : Arrays.copyOf(ids, 2 * ids.length);
    }
}
