package org.flexllm.graph;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

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
    public DecoderGraph insertAfter(Op anchor, Op... extra) {
        return insert(indexOf(anchor) + 1, extra);
    }

    /** A copy with {@code extra} inserted into the layer body right before {@code anchor}. */
    public DecoderGraph insertBefore(Op anchor, Op... extra) {
        return insert(indexOf(anchor), extra);
    }

    private int indexOf(Op anchor) {
        int i = layer.indexOf(anchor);
        if (i < 0) {
            throw new IllegalArgumentException("op " + anchor + " is not in the layer body");
        }
        return i;
    }

    private DecoderGraph insert(int at, Op... extra) {
        List<Op> body = new ArrayList<>(layer);
        body.addAll(at, List.of(extra));
        return new DecoderGraph(prologue, body, epilogue);
    }

    /** Every value an op of the graph reads or writes. */
    public Set<Value> values() {
        Set<Value> values = new LinkedHashSet<>();
        Stream.of(prologue, layer, epilogue).flatMap(List::stream).forEach(op -> {
            values.addAll(op.reads());
            values.addAll(op.writes());
        });
        return values;
    }

    /** The residual stream: what the prologue writes, the layer body updates in place and the epilogue reads. */
    public Value residual() {
        return prologue.getFirst().writes().getFirst();
    }
}
