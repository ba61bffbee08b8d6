package org.flexllm.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.flexllm.model.SyntheticModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward plan of real decoder graphs, run symbolically: buffers hold versions (a value as some op left it),
 * the layer's replay restores kept versions, replays ops and captures versions as the plan says, and every
 * activation an op's backward needs must then be the right version, kept on the tape or captured. Versions are
 * worked out here from the ops' reads and writes. Pruned, the forward keeps fewer activations than an unpruned graph
 * and recomputes the rest; unpruned, it recomputes nothing.
 */
class BackwardPlanTest {
    static List<String> models() {
        return SyntheticModel.names();
    }

    @ParameterizedTest
    @MethodSource("models")
    void replayingThePrunedPlanYieldsEverySavedActivation(String model) {
        List<Op> body = LlamaGraph.of(SyntheticModel.config(model)).layer();
        BackwardPlan plan = BackwardPlan.of(LlamaGraph.of(SyntheticModel.config(model)), Pruning.PRUNED);
        List<Map<Value, Version>> reads = readVersions(body);
        Map<Value, Version> buffers = new HashMap<>();
        Set<Version> captured = new HashSet<>();
        for (int i = 0; i < body.size(); i++) {
            for (Version v : plan.restoreBefore(i)) {
                assertTrue(plan.slotOf(v) >= 0, "op " + i + " restores " + v + ", which the tape does not hold");
                buffers.put(v.value(), v);
            }
            for (Version v : plan.captureBefore(i)) {
                assertEquals(v, buffers.get(v.value()), "op " + i + " captures " + v.value().name());
                captured.add(v);
            }
            if (plan.replays(i)) {
                for (Map.Entry<Value, Version> read : reads.get(i).entrySet()) {
                    assertEquals(read.getValue(), buffers.get(read.getKey()),
                            "op " + i + " (" + body.get(i).label() + ") replays on " + read.getKey().name());
                }
                for (Value w : body.get(i).writes()) {
                    buffers.put(w, new Version(w, i));
                }
            }
        }
        for (int i = 0; i < body.size(); i++) {
            for (Value v : body.get(i).saves()) {
                Version needed = reads.get(i).get(v);
                assertEquals(needed, plan.saves(i).get(v), "op " + i + " saves " + v.name() + " as it read it");
                assertTrue(plan.slotOf(needed) >= 0 || captured.contains(needed),
                        "op " + i + " (" + body.get(i).label() + ") needs " + needed + ": neither kept nor recomputed");
            }
        }
        assertEquals(Set.copyOf(plan.rematerialized()), captured, "what the plan says it recomputes");
    }

    @ParameterizedTest
    @MethodSource("models")
    void pruningKeepsLessAndUnprunedRecomputesNothing(String model) {
        DecoderGraph graph = LlamaGraph.of(SyntheticModel.config(model));
        BackwardPlan pruned = BackwardPlan.of(graph, Pruning.PRUNED);
        BackwardPlan all = BackwardPlan.of(graph, Pruning.KEEP_ALL);
        assertTrue(pruned.kept().size() < all.kept().size(), pruned.kept().size() + " kept of " + all.kept().size());
        assertFalse(pruned.rematerialized().isEmpty(), "pruned, some activation is recomputed");
        assertEquals(List.of(), all.rematerialized());
        for (int i = 0; i < graph.layer().size(); i++) {
            assertFalse(all.replays(i), "unpruned, op " + i + " is not replayed");
        }
    }

    /** Per op, the version of each value it reads: the last op before it that wrote the value, or −1 (the layer's input). */
    private static List<Map<Value, Version>> readVersions(List<Op> body) {
        Map<Value, Integer> writer = new HashMap<>();
        List<Map<Value, Version>> reads = new ArrayList<>();
        for (int i = 0; i < body.size(); i++) {
            Map<Value, Version> r = new HashMap<>();
            for (Value v : body.get(i).reads()) {
                r.put(v, new Version(v, writer.getOrDefault(v, -1)));
            }
            reads.add(r);
            for (Value v : body.get(i).writes()) {
                writer.put(v, i);
            }
        }
        return reads;
    }
}
