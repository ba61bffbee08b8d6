package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.backend.Backend;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.model.Rope;
import org.flexllm.model.Rope.RopeTable;

/**
 * A decoder graph after its compile passes, lowered onto a backend: weights resident, one buffer per
 * planned slot sized for {@code maxTokens} tokens, rope rotations precomputed for {@code maxPositions}.
 */
public final class CompiledModel {
    private final Backend backend;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final DecoderGraph graph;
    private final RopeTable rope;
    private final Map<Value, MemorySegment> buffers = new HashMap<>();
    private final int maxTokens;
    private final float[] hostRow;

    private CompiledModel(Backend backend, ModelConfig config, ModelWeights weights, DecoderGraph graph,
                          int maxTokens, int maxPositions) {
        this.backend = backend;
        this.config = config;
        this.weights = weights.map(backend::weight);
        this.graph = graph;
        this.maxTokens = maxTokens;
        this.hostRow = new float[config.vocabSize()];
        this.rope = Rope.table(config, maxPositions);
        BufferPlan plan = BufferPlan.of(graph, maxTokens);
        List<MemorySegment> slots = plan.sizes().stream().map(backend::allocate).toList();
        plan.slotOf().forEach((value, slot) -> buffers.put(value, slots.get(slot)));
    }

    /**
     * Runs the passes over the model's graph and lowers the result.
     *
     * @param maxTokens    the most tokens one forward pass will carry (the iteration's token budget)
     * @param maxPositions the longest sequence (positions) the rope table covers
     */
    public static CompiledModel compile(Backend backend, ModelConfig config, ModelWeights weights,
                                        List<GraphPass> passes, int maxTokens, int maxPositions) {
        DecoderGraph graph = LlamaGraph.of(config);
        for (GraphPass pass : passes) {
            graph = pass.apply(graph);
        }
        return new CompiledModel(backend, config, weights, graph, maxTokens, maxPositions);
    }

    /** One forward pass over the batch: KV of every token written to the cache, logits handed to the sink. */
    public void forward(ForwardBatch batch, PagedKvCache kv, LogitsSink sink) {
        if (batch.n() > maxTokens) {
            throw new IllegalArgumentException("batch of " + batch.n() + " tokens exceeds the compiled "
                    + maxTokens);
        }
        Step step = new Step(backend, config, weights, rope, kv, buffers, batch, sink, hostRow);
        run(graph.prologue(), step);
        for (int l = 0; l < config.numLayers(); l++) {
            step.enterLayer(l);
            run(graph.layer(), step);
        }
        run(graph.epilogue(), step);
    }

    private static void run(List<Op> ops, Step step) {
        for (Op op : ops) {
            op.forward(step);
        }
    }

    public ModelConfig config() {
        return config;
    }

    public DecoderGraph graph() {
        return graph;
    }

    public Backend backend() {
        return backend;
    }
}
