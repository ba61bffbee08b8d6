package org.flexllm.parallel;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One collective of a tensor-parallel pass.
 *
 * @param op            {@code all_reduce} or {@code all_gather}
 * @param after         the op (module) whose result it communicates
 * @param bytesPerToken bytes each rank contributes per token of the batch (0 for a once-per-step collective)
 * @param kind          {@code base} for the frozen model's, {@code bypass} for what PEFT adds
 * @param pass          {@code forward} or {@code backward}
 * @param bytesPerStep  for a gradient all-reduce at the optimizer step, the bytes per rank; otherwise 0
 * @param group         {@code all} ranks, or {@code kv_replicas}: the ranks that hold copies of the same KV heads
 */
public record Collective(@JsonProperty("op") String op, @JsonProperty("after") String after,
                        @JsonProperty("bytes_per_token") long bytesPerToken, @JsonProperty("kind") String kind,
                        @JsonProperty("pass") String pass,
                        @JsonInclude(JsonInclude.Include.NON_DEFAULT) @JsonProperty("bytes_per_step") long bytesPerStep,
                        @JsonProperty("group") String group) {
    public static final String BASE = "base";
    public static final String BYPASS = "bypass";
    public static final String FORWARD = "forward";
    public static final String BACKWARD = "backward";

    /** A per-token collective of the whole group. */
    static Collective perToken(String op, String after, long bytesPerToken, String kind, String pass) {
        return new Collective(op, after, bytesPerToken, kind, pass, 0, "all");
    }

    /** The all-reduce of a replicated bypass weight's gradient partials, once per optimizer step. */
    static Collective gradientSync(String weight, long bytesPerStep, String group) {
        return new Collective("all_reduce", weight + ".grad", 0, BYPASS, BACKWARD, bytesPerStep, group);
    }
}
