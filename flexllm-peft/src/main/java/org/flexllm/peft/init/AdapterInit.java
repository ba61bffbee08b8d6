package org.flexllm.peft.init;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.format.AdapterSlot;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * A new adapter initialised as PEFT initialises one ({@code init_lora_weights=True}, {@code init_ia3_weights=True}):
 * LoRA's A drawn from {@code kaiming_uniform_(a=√5)}, B zero, so that the adapter starts as the identity and
 * training moves B first; IA3's vectors all ones. Seeded: the same seed gives the same adapter.
 */
public final class AdapterInit {
    /** Splittable and statistically strong; the same algorithm the sampler uses. */
    private static final RandomGeneratorFactory<RandomGenerator.SplittableGenerator> ALGORITHM =
            RandomGeneratorFactory.of("L64X128MixRandom");

    private AdapterInit() {}

    /** A fresh adapter of {@code config} for a model of {@code model}, its tensors allocated in {@code arena}. */
    public static Adapter create(AdapterConfig config, ModelConfig model, long seed, Arena arena) {
        RandomGenerator random = ALGORITHM.create(seed);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (AdapterSlot slot : AdapterSlot.of(config, model)) {
            Shape shape = slot.shape();
            MemorySegment data = arena.allocate(ValueLayout.JAVA_FLOAT, shape.elements());
            switch (slot.weight()) {
                case LORA_A -> fillUniform(data, kaimingUniformBound(slot.linear().in()), random);
                case LORA_B -> { } // the arena hands out zeroed memory
                case IA3_OUTPUT, IA3_INPUT -> fillOnes(data);
            }
            tensors.put(slot.key(), new Tensor(slot.key(), DType.F32, shape, data));
        }
        return new Adapter(config, tensors);
    }

    /**
     * The bound of torch's {@code kaiming_uniform_(w, a=√5)} on a {@code [out, fanIn]} weight:
     * gain = √(2 / (1 + a²)) = √(1/3), std = gain / √fanIn, bound = √3 · std = 1 / √fanIn.
     */
    public static double kaimingUniformBound(int fanIn) {
        return 1 / Math.sqrt(fanIn);
    }

    private static void fillOnes(MemorySegment data) {
        for (long i = 0; i < data.byteSize() / Float.BYTES; i++) {
            data.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
        }
    }

    private static void fillUniform(MemorySegment data, double bound, RandomGenerator random) {
        for (long i = 0; i < data.byteSize() / Float.BYTES; i++) {
            data.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextDouble(-bound, bound));
        }
    }
}
