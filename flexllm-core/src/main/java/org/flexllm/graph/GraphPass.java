package org.flexllm.graph;

/**
 * A compile-time transformation of the model graph: attaching PEFT bypass ops, pruning what a backward pass
 * keeps. Passes run in order before the graph is lowered onto a backend.
 */
@FunctionalInterface
public interface GraphPass {
    DecoderGraph apply(DecoderGraph graph);
}
