package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;

/**
 * The paged KV cache's rows: writing the batch's keys and values into their slots, moving slots (a verified
 * tree's accepted path), and where a sequence's positions lie for one kv head (what {@link BlockedAttention} and
 * {@link AttentionBackward} read).
 */
final class PagedAttention {
    /** Per worker thread: where each visible position's key (and value) of one kv head starts, in floats. */
    private static final ThreadLocal<long[]> ROWS = ThreadLocal.withInitial(() -> new long[0]);

    private PagedAttention() {}

    static void storeKv(MemorySegment k, MemorySegment v, AttentionBatch b, KvLayer layer) {
        long bytes = (long) layer.kvDim() * Float.BYTES;
        for (int t = 0; t < b.n(); t++) {
            long dst = b.slot()[t] * bytes;
            MemorySegment.copy(k, t * bytes, layer.keys(), dst, bytes);
            MemorySegment.copy(v, t * bytes, layer.values(), dst, bytes);
        }
    }

    static void copyKv(int[] from, int[] to, int count, KvLayer layer) {
        long bytes = (long) layer.kvDim() * Float.BYTES;
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(layer.keys(), from[i] * bytes, layer.keys(), to[i] * bytes, bytes);
            MemorySegment.copy(layer.values(), from[i] * bytes, layer.values(), to[i] * bytes, bytes);
        }
    }

    /**
     * Cache offsets of kv head {@code g} for positions {@code [0, visible)} of the sequence with block table
     * {@code table}, in a per-thread array that the next call overwrites.
     */
    static long[] rows(AttentionBatch b, int[] table, int visible, int g, int kvDim) {
        long[] rows = ROWS.get();
        if (rows.length < visible) {
            rows = new long[Math.max(visible, 2 * rows.length)];
            ROWS.set(rows);
        }
        int bs = b.blockSize();
        for (int block = 0, j = 0; j < visible; block++) {
            long first = (long) table[block] * bs * kvDim + (long) g * b.headDim();
            for (int end = Math.min(visible, j + bs); j < end; j++) {
                rows[j] = first + (long) (j - block * bs) * kvDim;
            }
        }
        return rows;
    }
}
