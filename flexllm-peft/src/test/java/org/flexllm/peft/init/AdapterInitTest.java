package org.flexllm.peft.init;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Golden;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.format.AdapterSlot;
import org.flexllm.peft.format.AdapterWeight;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;

class AdapterInitTest {
    private static final ModelConfig MODEL = Golden.model(Golden.loraCases().getFirst());
    private static final AdapterConfig LORA = AdapterConfig.builder().r(8).targets(EnumSet.allOf(Projection.class))
            .build();

    @Test
    void loraAIsKaimingUniformWithinOneOverRootFanInAndBIsZero() {
        try (Arena arena = Arena.ofConfined()) {
            Adapter adapter = AdapterInit.create(LORA, MODEL, 42, arena);
            List<AdapterSlot> slots = AdapterSlot.of(LORA, MODEL);
            assertEquals(slots.stream().map(AdapterSlot::key).toList(), List.copyOf(adapter.tensors().keySet()));
            for (AdapterSlot slot : slots) {
                Tensor t = adapter.tensors().get(slot.key());
                assertEquals(slot.shape(), t.shape());
                float[] values = Golden.floats(t.data());
                if (slot.weight() == AdapterWeight.LORA_B) {
                    assertTrue(allEqual(values, 0f), slot.key());
                } else {
                    double bound = 1 / Math.sqrt(slot.linear().in());
                    double max = 0;
                    for (float v : values) {
                        max = Math.max(max, Math.abs(v));
                    }
                    assertTrue(max <= bound, slot.key() + ": " + max + " > " + bound);
                    // 8·in draws from U(-b, b): the largest |v| falls below 0.9·b with probability 0.9^(8·in).
                    assertTrue(max > 0.9 * bound, slot.key() + " does not fill its range: " + max);
                }
            }
        }
    }

    @Test
    void theSameSeedGivesTheSameAdapterAndAnotherSeedAnother() {
        try (Arena arena = Arena.ofConfined()) {
            float[] first = Golden.floats(firstA(AdapterInit.create(LORA, MODEL, 7, arena)).data());
            float[] again = Golden.floats(firstA(AdapterInit.create(LORA, MODEL, 7, arena)).data());
            float[] other = Golden.floats(firstA(AdapterInit.create(LORA, MODEL, 8, arena)).data());
            assertArrayEquals(first, again);
            assertFalse(Arrays.equals(first, other));
        }
    }

    @Test
    void ia3VectorsAreOnesScalingOutputsOrFeedforwardInputs() {
        AdapterConfig ia3 = AdapterConfig.builder().method(PeftMethod.IA3).build();
        try (Arena arena = Arena.ofConfined()) {
            Adapter adapter = AdapterInit.create(ia3, MODEL, 1, arena);
            assertEquals(3 * MODEL.numLayers(), adapter.tensors().size());
            Tensor k = adapter.tensors().get("base_model.model.model.layers.0.self_attn.k_proj.ia3_l");
            Tensor down = adapter.tensors().get("base_model.model.model.layers.1.mlp.down_proj.ia3_l");
            assertEquals(Shape.of(MODEL.kvDim(), 1), k.shape());
            assertEquals(Shape.of(1, MODEL.intermediateSize()), down.shape());
            assertTrue(adapter.tensors().values().stream().allMatch(t -> allEqual(Golden.floats(t.data()), 1f)));
        }
    }

    private static Tensor firstA(Adapter adapter) {
        return adapter.tensors().firstEntry().getValue();
    }

    private static boolean allEqual(float[] values, float expected) {
        for (float v : values) {
            if (v != expected) {
                return false;
            }
        }
        return true;
    }
}
