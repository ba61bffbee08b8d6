package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.backend.Backend;

/**
 * What a finetuning sequence's forward pass keeps for its backward: per layer, the {@link BackwardPlan#kept()}
 * versions of its tokens, and the gradient of the residual stream where the backward has got to (first the
 * loss's gradient at the top, then after each backward slice the gradient at that slice's bottom), and the gradients
 * of the layer's cached keys and values that attention's backward has gathered so far: a slice smaller than a layer
 * runs the layer's rows a chunk at a time, last chunk first, over several iterations, and each chunk adds to the keys
 * and values of every earlier row. Allocated once for the longest sequence and reused by each sequence in turn.
 */
public final class Tape {
    /** The gradients of one layer's cached keys and values, row = position. */
    record KvGrads(MemorySegment keys, MemorySegment values) {}

    private final MemorySegment[][] kept;
    private final MemorySegment residualGrad;
    private final KvGrads kvGrads;
    private final int maxTokens;

    Tape(Backend backend, BackwardPlan plan, int layers, int hidden, int kvDim, int maxTokens) {
        List<Version> versions = plan.kept();
        this.kept = new MemorySegment[layers][versions.size()];
        for (int l = 0; l < layers; l++) {
            for (int k = 0; k < versions.size(); k++) {
                kept[l][k] = backend.allocate(versions.get(k).value().floats(maxTokens));
            }
        }
        this.residualGrad = backend.allocate((long) maxTokens * hidden);
        this.kvGrads = new KvGrads(backend.allocate((long) maxTokens * kvDim),
                backend.allocate((long) maxTokens * kvDim));
        this.maxTokens = maxTokens;
    }

    /** The longest sequence this tape holds. */
    public int maxTokens() {
        return maxTokens;
    }

    MemorySegment kept(int layer, int slot) {
        return kept[layer][slot];
    }

    MemorySegment residualGrad() {
        return residualGrad;
    }

    KvGrads kvGrads() {
        return kvGrads;
    }
}
