package org.flexllm.kv;

/** Hands out the KV cache's fixed-size blocks. Not thread-safe: only the engine thread allocates. */
public final class BlockAllocator {
    private final int[] freeList;
    /** Volatile so that a gauge on another thread reads it current; written a few times an iteration. */
    private volatile int free;

    public BlockAllocator(int numBlocks) {
        freeList = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            freeList[i] = numBlocks - 1 - i;
        }
        free = numBlocks;
    }

    public int capacity() {
        return freeList.length;
    }

    public int free() {
        return free;
    }

    /** A free block's id; callers check {@link #free()} first. */
    public int allocate() {
        if (free == 0) {
            throw new IllegalStateException("no free KV block");
        }
        return freeList[--free];
    }

    public void release(int block) {
        freeList[free++] = block;
    }
}
