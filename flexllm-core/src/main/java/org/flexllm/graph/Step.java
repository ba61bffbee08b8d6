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
 * the layer being run, and how many rows are in flight (the whole batch, then only the logit rows). A compiled
 * model keeps one and {@linkplain #start starts} it again for each pass, so that a pass allocates nothing.
 */
public final class Step {
    private final Backend backend;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final RopeTable rope;
    private final Map<Value, MemorySegment> buffers;
    private final float[] hostRow;
    private final MemorySegment[] temps;
    private final int[] chunkTargets = new int[LlamaGraph.LOGIT_CHUNK];
    /**
     * The values the running op's backward reads: {@code savedCount} pairs (a layer's ops, from the tape), or else
     * {@code savedMap} (the epilogue's, from the forward's own buffers).
     */
    private final Value[] savedValues;
    private final MemorySegment[] savedSegments;
    private int savedCount;
    private Map<Value, MemorySegment> savedMap = Map.of();
    private PagedKvCache kv;
    private LogitsSink sink;
    private ForwardBatch batch;
    private Gradients gradients;
    /** The tape of the sequence a backward runs on, or null. */
    private Tape tape;
    private int layer;
    private int rows;

    /** @param maxSaved the most values one op saves for its backward */
    Step(Backend backend, ModelConfig config, ModelWeights weights, RopeTable rope, Map<Value, MemorySegment> buffers,
         float[] hostRow, MemorySegment[] temps, int maxSaved) {
        this.backend = backend;
        this.config = config;
        this.weights = weights;
        this.rope = rope;
        this.buffers = buffers;
        this.hostRow = hostRow;
        this.temps = temps;
        this.savedValues = new Value[maxSaved];
        this.savedSegments = new MemorySegment[maxSaved];
    }

    /**
     * Readies the step for a pass over {@code batch}: logits go to {@code sink} (null in a backward), gradients
     * (null in an inference-only forward) to {@code gradients}.
     */
    Step start(ForwardBatch batch, PagedKvCache kv, LogitsSink sink, Gradients gradients) {
        this.batch = batch;
        this.kv = kv;
        this.sink = sink;
        this.gradients = gradients;
        this.tape = null;
        this.rows = batch.n();
        this.layer = 0;
        useSaved(Map.of());
        return this;
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

    /** Readies a started step for a backward of the sequence whose tape this is. */
    Step backwardOf(Tape tape) {
        this.tape = tape;
        return this;
    }

    /**
     * The gradients of the cached keys and values (row = position) that attention's backward adds to and the cache
     * writer's backward reads, gathered on the sequence's tape across the chunks of a layer.
     */
    Tape.KvGrads kvGrads() {
        return tape.kvGrads();
    }

    /** {@code v} as the op whose backward is running read it in the forward pass. */
    public MemorySegment saved(Value v) {
        for (int i = 0; i < savedCount; i++) {
            if (savedValues[i].equals(v)) {
                return savedSegments[i];
            }
        }
        MemorySegment s = savedMap.get(v);
        if (s == null) {
            throw new IllegalStateException("value '" + v.name() + "' was not saved for this op's backward");
        }
        return s;
    }

    /** The values of {@code values} become the saved ones, and only those. */
    void useSaved(Map<Value, MemorySegment> values) {
        savedMap = values;
        savedCount = 0;
    }

    /** Forgets the saved values; {@link #save} then adds the next op's one at a time. */
    void clearSaved() {
        useSaved(Map.of());
    }

    void save(Value v, MemorySegment segment) {
        savedValues[savedCount] = v;
        savedSegments[savedCount++] = segment;
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
