package org.flexllm.graph;

/**
 * An activation flowing between ops: {@code width} f32 values per row.
 *
 * @param name      unique within its graph, e.g. {@code q} or {@code x}
 * @param width     floats per row
 * @param fixedRows 0 for one row per batch token; otherwise a scratch of exactly this many rows
 */
public record Value(String name, int width, int fixedRows) {

    /** One row of {@code width} floats per token of the batch. */
    public static Value perToken(String name, int width) {
        return new Value(name, width, 0);
    }

    /** A scratch of {@code rows × width} floats whatever the batch size. */
    public static Value scratch(String name, int rows, int width) {
        return new Value(name, width, rows);
    }

    /** Floats this value needs when a batch holds at most {@code maxTokens} tokens. */
    public long floats(int maxTokens) {
        return (long) (fixedRows == 0 ? maxTokens : fixedRows) * width;
    }
}
