package org.flexllm.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.flexllm.model.SyntheticModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The buffer plan of real decoder graphs against liveness worked out here from the ops' reads and writes: two values
 * of the layer body that are live at the same op never share a buffer, a value that outlives the body (prologue,
 * epilogue, residual stream) shares with nothing, every buffer is exactly as large as each value it holds, and
 * buffers are shared at all (fewer buffers than values).
 */
class BufferPlanTest {
    private static final int MAX_TOKENS = 48;

    static List<String> models() {
        return SyntheticModel.names();
    }

    @ParameterizedTest
    @MethodSource("models")
    void valuesLiveAtTheSameOpNeverShareABuffer(String model) {
        DecoderGraph graph = LlamaGraph.of(SyntheticModel.config(model));
        BufferPlan plan = BufferPlan.of(graph, MAX_TOKENS);
        Set<Value> outliving = new HashSet<>();
        for (List<Op> part : List.of(graph.prologue(), graph.epilogue())) {
            for (Op op : part) {
                outliving.addAll(op.reads());
                outliving.addAll(op.writes());
            }
        }
        // Per body value, the first and last op touching it; a value read before the body writes it came from the
        // previous layer, so it is live from the start.
        Map<Value, int[]> live = new HashMap<>();
        List<Op> body = graph.layer();
        for (int i = 0; i < body.size(); i++) {
            for (Value v : body.get(i).writes()) {
                int at = i;
                live.computeIfAbsent(v, k -> new int[] {at, at})[1] = i;
            }
            for (Value v : body.get(i).reads()) {
                live.computeIfAbsent(v, k -> new int[] {-1, -1})[1] = i;
            }
        }
        Set<Value> all = new HashSet<>(live.keySet());
        all.addAll(outliving);
        for (Value v : all) {
            Integer slot = plan.slotOf().get(v);
            assertNotNull(slot, v + " has no buffer");
            assertEquals(v.floats(MAX_TOKENS), plan.sizes().get(slot), v + " in buffer " + slot);
        }
        for (Value a : all) {
            for (Value b : all) {
                if (a.equals(b)) {
                    continue;
                }
                boolean apart = !outliving.contains(a) && !outliving.contains(b)
                        && (live.get(a)[1] < live.get(b)[0] || live.get(b)[1] < live.get(a)[0]);
                if (!apart) {
                    assertNotEquals(plan.slotOf().get(a), plan.slotOf().get(b), a + " and " + b + " are live together");
                }
            }
        }
        assertTrue(plan.sizes().size() < all.size(),
                "buffers are shared: " + plan.sizes().size() + " buffers for " + all.size() + " values");
    }
}
