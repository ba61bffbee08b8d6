package org.flexllm.schedule;

import java.util.Arrays;
import org.flexllm.kv.BlockAllocator;
import org.flexllm.kv.BlockTable;

/**
 * A sequence's token accounting, vLLM-v1 style: its tokens (prompt, then generated), how many of them have
 * their keys and values in the KV cache ({@code computed}), and the blocks holding them. The scheduler hands
 * out tokens to compute; nothing else distinguishes prefill from decode.
 */
public final class Sequence {
    private final long id;
    private final int promptLength;
    private int adapter;
    private int[] tokens;
    private int length;
    private int computed;
    private int preemptions;
    private final BlockTable blocks = new BlockTable();
    private Deadlines deadlines = Deadlines.NONE;
    private long firstTokenNanos;
    private boolean sampled;

    /** @param id arrival order: lower ids were submitted earlier and are scheduled first */
    public Sequence(long id, int[] prompt, int expectedTokens) {
        this(id, prompt, expectedTokens, -1);
    }

    /**
     * The slot of a sequence whose adapter is not resident yet: it waits outside the scheduler until
     * {@link #bindAdapter} gives it one.
     */
    public static final int AWAITING_ADAPTER = -2;

    /**
     * @param adapter the resident adapter slot the sequence runs on, −1 for the base model, or
     *                {@link #AWAITING_ADAPTER}
     */
    public Sequence(long id, int[] prompt, int expectedTokens, int adapter) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a sequence needs at least one prompt token");
        }
        this.id = id;
        this.promptLength = prompt.length;
        this.adapter = adapter;
        this.tokens = Arrays.copyOf(prompt, Math.max(prompt.length, expectedTokens));
        this.length = prompt.length;
    }

    /** The latency targets the scheduler keeps this sequence to. */
    public Deadlines deadlines() {
        return deadlines;
    }

    public void setDeadlines(Deadlines deadlines) {
        this.deadlines = deadlines;
    }

    /**
     * When the next token is due for the sequence to meet its targets: its first token by its TTFT; the
     * (n+1)-th by first + n · TPOT, so that the mean time per output token after the first stays within TPOT.
     */
    public long dueNanos() {
        return dueNanos(1);
    }

    /** As {@link #dueNanos()}, for targets scaled by {@code margin} (below 1: to meet them with room to spare). */
    public long dueNanos(double margin) {
        double due = !sampled ? deadlines.arrivalNanos() + margin * deadlines.ttftNanos()
                : firstTokenNanos + margin * generated() * deadlines.tpotNanos();
        return (long) Math.min(due, Long.MAX_VALUE / 2.0);
    }

    /** Records when the first token was sampled. */
    public void markFirstToken(long nanos) {
        if (!sampled) {
            firstTokenNanos = nanos;
            sampled = true;
        }
    }

    public long id() {
        return id;
    }

    /** Gives a sequence that awaits its adapter the slot it runs on. */
    public void bindAdapter(int slot) {
        if (adapter != AWAITING_ADAPTER || slot < 0) {
            throw new IllegalStateException("sequence " + id + " cannot take adapter slot " + slot
                    + (adapter == AWAITING_ADAPTER ? "" : ": it runs on slot " + adapter));
        }
        adapter = slot;
    }

    /** The resident adapter slot this sequence runs on, −1 for the base model, or {@link #AWAITING_ADAPTER}. */
    public int adapter() {
        return adapter;
    }

    public int promptLength() {
        return promptLength;
    }

    /** Prompt plus generated tokens. */
    public int length() {
        return length;
    }

    public int token(int position) {
        return tokens[position];
    }

    /** Tokens whose keys and values are in the cache. */
    public int computed() {
        return computed;
    }

    /** Tokens still to run through the model before the next one can be sampled. */
    public int uncomputed() {
        return length - computed;
    }

    public int generated() {
        return length - promptLength;
    }

    public int preemptions() {
        return preemptions;
    }

    public BlockTable blocks() {
        return blocks;
    }

    public void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * tokens.length);
        }
        tokens[length++] = token;
    }

    /** Marks {@code count} more tokens as computed after a forward pass wrote their keys and values. */
    public void advance(int count) {
        computed += count;
    }

    /** Drops the cached keys and values; the whole sequence is recomputed when it runs again. */
    void evict(BlockAllocator allocator) {
        blocks.releaseAll(allocator);
        computed = 0;
        preemptions++;
    }

    /** The generated tokens. */
    public int[] output() {
        return Arrays.copyOfRange(tokens, promptLength, length);
    }

    /** Prompt and generated tokens. */
    public int[] allTokens() {
        return Arrays.copyOf(tokens, length);
    }
}
