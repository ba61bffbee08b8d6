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
    private final Gradients gradients;
    private final MemorySegment[] temps;
    private final int[] chunkTargets = new int[LlamaGraph.LOGIT_CHUNK];
    private Map<Value, MemorySegment> saved = Map.of();
    private int layer;
    private int rows;

    Step(Backend backend, ModelConfig config, ModelWeights weights, RopeTable rope, PagedKvCache kv,
         Map<Value, MemorySegment> buffers, ForwardBatch batch, LogitsSink sink, float[] hostRow,
         Gradients gradients, MemorySegment[] temps) {
        this.backend = backend;
        this.config = config;
        this.weights = weights;
        this.rope = rope;
        this.kv = kv;
        this.buffers = buffers;
        this.batch = batch;
        this.sink = sink;
        this.hostRow = hostRow;
        this.gradients = gradients;
        this.temps = temps;
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

    /**
     * Scratch {@code i} (0 or 1) for an op's intermediate results, room for a row per token of any value's
     * width; its contents do not outlive the op.
     */
    public MemorySegment temp(int i) {
        return temps[i];
    }

    /** Visits each run of consecutive rows whose sequences use the same adapter (rows on the base model skipped). */
    public void forEachAdapterSegment(AdapterSegment visitor) {
        int[] adapters = batch.adapters();
        for (int from = 0; from < rows; ) {
            int to = from + 1;
            while (to < rows && adapters[to] == adapters[from]) {
                to++;
            }
            if (adapters[from] >= 0) {
                visitor.accept(adapters[from], from, to - from);
            }
            from = to;
        }
    }

    /** A run of rows {@code [firstRow, firstRow + count)} using resident adapter {@code adapter}. */
    @FunctionalInterface
    public interface AdapterSegment {
        void accept(int adapter, int firstRow, int count);
    }

    /** The gradient of the loss with respect to {@code v}, laid out like its buffer. */
    public MemorySegment grad(Value v) {
        return gradients.of(v);
    }

    /** The keys' and values' gradients attention's backward leaves for the cache writer's backward. */
    Gradients.KvGrads kvGrads() {
        return gradients.kv();
    }

    /** {@code v} as the op whose backward is running read it in the forward pass. */
    public MemorySegment saved(Value v) {
        MemorySegment s = saved.get(v);
        if (s == null) {
            throw new IllegalStateException("value '" + v.name() + "' was not saved for this op's backward");
        }
        return s;
    }

    void useSaved(Map<Value, MemorySegment> values) {
        saved = values;
    }

    /** The finetuning window riding in this batch, or null. */
    public TrainingWindow training() {
        return batch.training();
    }

    /**
     * Training targets of logit rows {@code [first, first + count)}: a token id, or −1 for a row whose logits
     * go to the sink. The array is reused by the next call.
     */
    public int[] chunkTargets(int first, int count) {
        for (int r = 0; r < count; r++) {
            chunkTargets[r] = batch.training() == null ? -1 : batch.logitTargets()[first + r];
        }
        return chunkTargets;
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
