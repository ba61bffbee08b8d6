package org.flexllm.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Assigns values to buffers. A value used only inside the layer body is dead once its last reader has run,
 * so a later value of the same size can take its buffer; values that cross the body's boundary (the
 * residual stream) and the epilogue's values keep their own.
 *
 * @param slotOf  the buffer index of each value
 * @param sizes   floats of each buffer
 */
public record BufferPlan(Map<Value, Integer> slotOf, List<Long> sizes) {

    public static BufferPlan of(DecoderGraph graph, int maxTokens) {
        Map<Value, Integer> slotOf = new LinkedHashMap<>();
        List<Long> sizes = new ArrayList<>();
        Set<Value> pinned = pinned(graph);
        for (Value v : pinned) {
            slotOf.put(v, newSlot(sizes, v.floats(maxTokens)));
        }
        Map<Value, Integer> lastRead = lastUse(graph.layer());
        Map<Long, Deque<Integer>> free = new HashMap<>();
        List<Op> body = graph.layer();
        for (int i = 0; i < body.size(); i++) {
            for (Value v : body.get(i).writes()) {
                if (!slotOf.containsKey(v)) {
                    Deque<Integer> same = free.get(v.floats(maxTokens));
                    slotOf.put(v, same == null || same.isEmpty() ? newSlot(sizes, v.floats(maxTokens)) : same.pop());
                }
            }
            for (Value v : Set.copyOf(body.get(i).reads())) {
                if (lastRead.get(v) == i && !pinned.contains(v)) {
                    free.computeIfAbsent(v.floats(maxTokens), s -> new ArrayDeque<>()).push(slotOf.get(v));
                }
            }
        }
        return new BufferPlan(Map.copyOf(slotOf), List.copyOf(sizes));
    }

    /** Values the prologue or epilogue touch: they outlive any single run of the layer body. */
    private static Set<Value> pinned(DecoderGraph graph) {
        Set<Value> pinned = new HashSet<>();
        for (Op op : graph.prologue()) {
            pinned.addAll(op.writes());
            pinned.addAll(op.reads());
        }
        for (Op op : graph.epilogue()) {
            pinned.addAll(op.writes());
            pinned.addAll(op.reads());
        }
        return pinned;
    }

    private static Map<Value, Integer> lastUse(List<Op> body) {
        Map<Value, Integer> last = new HashMap<>();
        for (int i = 0; i < body.size(); i++) {
            for (Value v : body.get(i).reads()) {
                last.put(v, i);
            }
        }
        return last;
    }

    private static int newSlot(List<Long> sizes, long floats) {
        sizes.add(floats);
        return sizes.size() - 1;
    }
}
