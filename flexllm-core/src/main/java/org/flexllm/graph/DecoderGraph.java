package org.flexllm.graph;

import java.util.ArrayList;
import java.util.List;

/**
 * A decoder as a graph: the prologue runs once per pass, the layer body once per decoder layer (with that
 * layer's weights), the epilogue once on the rows that need logits. Values live in buffers shared by all
 * layers, which is what lets a layer-sliced backward pass re-enter any layer.
 */
public record DecoderGraph(List<Op> prologue, List<Op> layer, List<Op> epilogue) {
    public DecoderGraph {
        prologue = List.copyOf(prologue);
        layer = List.copyOf(layer);
        epilogue = List.copyOf(epilogue);
    }

    /** A copy with {@code extra} inserted into the layer body right after {@code anchor}. */
    public DecoderGraph insertAfter(Op anchor, Op extra) {
        int i = layer.indexOf(anchor);
        if (i < 0) {
            throw new IllegalArgumentException("op " + anchor + " is not in the layer body");
        }
        List<Op> body = new ArrayList<>(layer);
        body.add(i + 1, extra);
        return new DecoderGraph(prologue, body, epilogue);
    }
}
