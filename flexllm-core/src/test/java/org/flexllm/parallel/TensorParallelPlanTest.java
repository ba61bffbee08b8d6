package org.flexllm.parallel;

import static org.flexllm.graph.Projection.DOWN_PROJ;
import static org.flexllm.graph.Projection.GATE_PROJ;
import static org.flexllm.graph.Projection.K_PROJ;
import static org.flexllm.graph.Projection.O_PROJ;
import static org.flexllm.graph.Projection.Q_PROJ;
import static org.flexllm.graph.Projection.UP_PROJ;
import static org.flexllm.graph.Projection.V_PROJ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.SyntheticModel;
import org.junit.jupiter.api.Test;

/** The plan's partitions and collectives, against Megatron's split worked out by hand for Llama-3-8B's shapes. */
class TensorParallelPlanTest {
    /** 32 heads of 128, 8 KV heads, MLP 14336, hidden 4096, vocabulary 128256. */
    private static final ModelConfig LLAMA_8B = SyntheticModel.config("llama-8b-2l");
    private static final Set<Projection> ALL = EnumSet.allOf(Projection.class);

    @Test
    void noBypassOpAddsAForwardCollectiveWhateverItsTargetsAndTheRanks() {
        for (int tp : new int[] {2, 4, 8, 16}) {
            for (BypassTargets t : List.of(BypassTargets.lora(ALL, 16), BypassTargets.lora(Set.of(O_PROJ), 8),
                    BypassTargets.ia3(Set.of(K_PROJ, V_PROJ, DOWN_PROJ), Set.of(DOWN_PROJ)))) {
                var plan = TensorParallelPlan.of(LLAMA_8B, tp, t);
                assertEquals(0, plan.collectivesPerLayer(Collective.FORWARD, Collective.BYPASS), tp + " ranks, " + t);
                assertEquals(2, plan.collectivesPerLayer(Collective.FORWARD, Collective.BASE));
                assertEquals(2, plan.collectivesPerLayer(Collective.BACKWARD, Collective.BASE));
            }
        }
    }

    @Test
    void loraOnAColumnParallelLinearReplicatesAAndSplitsBByOutput() {
        var w = TensorParallelPlan.of(LLAMA_8B, 4, BypassTargets.lora(ALL, 16)).weights();
        assertEquals(Partition.of(Sharding.REPLICATED, 4096), w.get("q_proj.lora_A"));
        assertEquals(Partition.split("output", 32 * 128 / 4, 1), w.get("q_proj.lora_B"));
        assertEquals(Partition.split("output", 14336 / 4, 1), w.get("gate_proj.lora_B"));
        assertEquals(Partition.split("output", 8 * 128 / 4, 1), w.get("k_proj.lora_B"));
    }

    @Test
    void loraOnARowParallelLinearSplitsAByInputAndReplicatesB() {
        var plan = TensorParallelPlan.of(LLAMA_8B, 4, BypassTargets.lora(ALL, 16));
        assertEquals(Partition.split("input", 32 * 128 / 4, 1), plan.weights().get("o_proj.lora_A"));
        assertEquals(Partition.of(Sharding.REPLICATED, 4096), plan.weights().get("o_proj.lora_B"));
        assertEquals(Partition.split("input", 14336 / 4, 1), plan.weights().get("down_proj.lora_A"));
        // x·A_rᵀ over a rank's input columns is a partial sum of xa, and so is its product with the replicated B.
        assertEquals(Sharding.PARTIAL_SUM.label(), plan.values().get("o_proj.lora_xa").sharding());
        assertEquals(Sharding.REPLICATED.label(), plan.values().get("q_proj.lora_xa").sharding());
    }

    @Test
    void theBackwardAllReducesEachReplicatedBypassWeightsGradientOncePerStep() {
        int r = 16;
        var plan = TensorParallelPlan.of(LLAMA_8B, 4, BypassTargets.lora(ALL, r));
        List<Collective> syncs = plan.layer().stream().filter(c -> c.kind().equals(Collective.BYPASS)).toList();
        assertEquals(List.of("q_proj.lora_A.grad", "k_proj.lora_A.grad", "v_proj.lora_A.grad", "o_proj.lora_B.grad",
                "gate_proj.lora_A.grad", "up_proj.lora_A.grad", "down_proj.lora_B.grad"),
                syncs.stream().map(Collective::after).toList());
        for (Collective c : syncs) {
            assertEquals(0, c.bytesPerToken(), c.after());
            assertEquals((long) r * 4096 * Float.BYTES, c.bytesPerStep(), c.after());
        }
    }

    @Test
    void kvHeadsFewerThanRanksAreReplicatedAndTheirBypassGradientsSummedAmongTheReplicas() {
        var plan = TensorParallelPlan.of(LLAMA_8B, 16, BypassTargets.lora(Set.of(K_PROJ), 8));
        assertEquals(1, plan.kvHeadsPerRank());
        assertEquals(2, plan.kvReplicas());
        assertEquals(List.of(0, 0, 1, 1, 7, 7), List.of(plan.firstKvHead(0), plan.firstKvHead(1), plan.firstKvHead(2),
                plan.firstKvHead(3), plan.firstKvHead(14), plan.firstKvHead(15)));
        assertEquals(Partition.split("output", 128, 2), plan.weights().get("k_proj.lora_B"));
        assertTrue(plan.layer().stream().anyMatch(c -> c.after().equals("k_proj.lora_B.grad")
                && c.group().equals("kv_replicas")));
    }

    @Test
    void collectiveBytesPerTokenAreTheHiddenRowAndTheVocabularySlice() {
        var plan = TensorParallelPlan.of(LLAMA_8B, 2, BypassTargets.NONE);
        assertEquals(4096L * 4, plan.layer().getFirst().bytesPerToken());
        assertEquals(128256L / 2 * 4, plan.epilogue().getFirst().bytesPerToken());
        assertEquals(List.of(), TensorParallelPlan.of(LLAMA_8B, 1, BypassTargets.NONE).layer());
    }

    @Test
    void ia3ThatCannotBeSplitLikeItsLinearIsRefused() {
        var output = assertThrows(TensorParallelException.class, () -> TensorParallelPlan.of(LLAMA_8B, 2,
                BypassTargets.ia3(Set.of(O_PROJ), Set.of())));
        assertTrue(output.getMessage().contains("IA3 cannot scale the output of o_proj"), output.getMessage());
        var input = assertThrows(TensorParallelException.class, () -> TensorParallelPlan.of(LLAMA_8B, 2,
                BypassTargets.ia3(Set.of(UP_PROJ), Set.of(UP_PROJ))));
        assertTrue(input.getMessage().contains("IA3 cannot scale the input of up_proj"), input.getMessage());
        var plan = TensorParallelPlan.of(LLAMA_8B, 2, BypassTargets.ia3(Set.of(Q_PROJ, GATE_PROJ, DOWN_PROJ),
                Set.of(DOWN_PROJ)));
        assertEquals(Partition.split("output", 32 * 128 / 2, 1), plan.weights().get("q_proj.ia3_l"));
        assertEquals(Partition.split("input", 14336 / 2, 1), plan.weights().get("down_proj.ia3_l"));
    }

    @Test
    void aSplitTheMlpCannotTakeIsRefused() {
        ModelConfig odd = new ModelConfig(LLAMA_8B.architecture(), 4096, 14338, 2, 32, 8, 128, 1000, 1e-5f, 1e4,
                LLAMA_8B.ropeScaling(), 128, false, false, false, false, 1, List.of(2));
        var e = assertThrows(TensorParallelException.class, () -> TensorParallelPlan.of(odd, 4, BypassTargets.NONE));
        assertEquals("intermediate_size 14338 is not divisible by 4 ranks", e.getMessage());
    }
}
