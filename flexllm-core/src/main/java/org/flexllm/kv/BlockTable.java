package org.flexllm.kv;

import java.util.Arrays;

/** A sequence's KV blocks in position order: block {@code i} holds positions {@code [i·B, (i+1)·B)}. */
public final class BlockTable {
    private int[] blocks = new int[4];
    private int count;

    /** Blocks needed to hold {@code tokens} positions, beyond those already held. */
    public int missingFor(int tokens, int blockSize) {
        return Math.max(0, ceilDiv(tokens, blockSize) - count);
    }

    /** Grows the table to hold {@code tokens} positions; the caller made sure enough blocks are free. */
    public void growTo(int tokens, int blockSize, BlockAllocator allocator) {
        int needed = ceilDiv(tokens, blockSize);
        if (needed > blocks.length) {
            blocks = Arrays.copyOf(blocks, Math.max(needed, 2 * blocks.length));
        }
        while (count < needed) {
            blocks[count++] = allocator.allocate();
        }
    }

    /**
     * Releases the blocks beyond those holding the first {@code tokens} positions: a sequence rolls back to
     * {@code tokens} (a speculative tree's rejected nodes).
     */
    public void truncateTo(int tokens, int blockSize, BlockAllocator allocator) {
        int kept = ceilDiv(tokens, blockSize);
        while (count > kept) {
            allocator.release(blocks[--count]);
        }
    }

    /** Blocks held. */
    public int size() {
        return count;
    }

    public void releaseAll(BlockAllocator allocator) {
        for (int i = 0; i < count; i++) {
            allocator.release(blocks[i]);
        }
        count = 0;
    }

    /** The live array (valid up to {@link #size()}); attention reads it directly. */
    public int[] blocks() {
        return blocks;
    }

    public static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
