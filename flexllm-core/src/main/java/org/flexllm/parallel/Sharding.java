package org.flexllm.parallel;

import java.util.Locale;

/** How a value or weight is laid out over the ranks of a tensor-parallel group. */
public enum Sharding {
    /** Every rank holds all of it. */
    REPLICATED,
    /** Each rank holds a contiguous slice of its columns (of a weight: of the dimension named with it). */
    SPLIT,
    /** Each rank holds a full-width partial sum; the value is the sum over ranks (an all-reduce away). */
    PARTIAL_SUM;

    /** The name in reports: {@code replicated}, {@code split}, {@code partial_sum}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
