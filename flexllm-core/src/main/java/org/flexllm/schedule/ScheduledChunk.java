package org.flexllm.schedule;

/**
 * Tokens {@code [start, start + count)} of a sequence, scheduled to run in one iteration.
 *
 * @param sequence the sequence
 * @param start    its first uncomputed position
 * @param count    how many tokens this iteration computes
 */
public record ScheduledChunk(Sequence sequence, int start, int count) {
    /** Whether this is the sequence's last token, the one its next token is sampled from. */
    public boolean isDecode() {
        return count == 1 && start == sequence.length() - 1;
    }
}
