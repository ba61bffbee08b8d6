package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import org.flexllm.backend.Backend;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.LayerWeights;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.model.Rope.RopeTable;

/**
 * The state one forward pass threads through the ops: the batch, the buffers of the values, the weights of
 * the layer being run, and how many rows are in flight (the whole batch, then only the logit rows).
 */
public final class Step {
    private final Backend backend;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final RopeTable rope;
    private final PagedKvCache kv;
    private final Map<Value, MemorySegment> buffers;
    private final LogitsSink sink;
    private final float[] hostRow;
    private final ForwardBatch batch;
    private int layer;
    private int rows;

    Step(Backend backend, ModelConfig config, ModelWeights weights, RopeTable rope, PagedKvCache kv,
         Map<Value, MemorySegment> buffers, ForwardBatch batch, LogitsSink sink, float[] hostRow) {
        this.backend = backend;
        this.config = config;
        this.weights = weights;
        this.rope = rope;
        this.kv = kv;
        this.buffers = buffers;
        this.batch = batch;
        this.sink = sink;
        this.hostRow = hostRow;
        this.rows = batch.n();
    }

    public Backend backend() {
        return backend;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    public RopeTable rope() {
        return rope;
    }

    public PagedKvCache kv() {
        return kv;
    }

    public ForwardBatch batch() {
        return batch;
    }

    public LogitsSink sink() {
        return sink;
    }

    /** A vocab-wide host array for one row of logits at a time, reused by every pass. */
    public float[] hostRow() {
        return hostRow;
    }

    public MemorySegment buffer(Value v) {
        return buffers.get(v);
    }

    /** Index of the decoder layer being run. */
    public int layer() {
        return layer;
    }

    public LayerWeights layerWeights() {
        return weights.layers().get(layer);
    }

    void enterLayer(int l) {
        layer = l;
    }

    /** Rows in flight: the batch's tokens, or after {@link SelectLogitRows}, the rows that need logits. */
    public int rows() {
        return rows;
    }

    void narrowTo(int count) {
        rows = count;
    }
}
