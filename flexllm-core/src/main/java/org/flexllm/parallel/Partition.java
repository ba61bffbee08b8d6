package org.flexllm.parallel;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How one value (floats per token) or weight (its split dimension) is laid out over the ranks.
 *
 * @param sharding {@link Sharding#label()}
 * @param along    for a split weight, the dimension split: {@code output} or {@code input}; null otherwise
 * @param perRank  floats per token (a value) or rows or columns (a weight's split dimension) each rank holds
 * @param replicas how many ranks hold each slice: 1 but where KV heads are fewer than ranks
 */
public record Partition(@JsonProperty("sharding") String sharding,
                        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("along") String along,
                        @JsonProperty("per_rank") int perRank,
                        @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = One.class)
                        @JsonProperty("replicas") int replicas) {

    static Partition of(Sharding sharding, int perRank) {
        return new Partition(sharding.label(), null, perRank, 1);
    }

    static Partition split(String along, int perRank, int replicas) {
        return new Partition(Sharding.SPLIT.label(), along, perRank, replicas);
    }

    /** Leaves {@code replicas} out of reports where it is the usual 1. */
    static final class One {
        @Override
        public boolean equals(Object o) {
            return Integer.valueOf(1).equals(o);
        }

        @Override
        public int hashCode() {
            return 1;
        }
    }
}
