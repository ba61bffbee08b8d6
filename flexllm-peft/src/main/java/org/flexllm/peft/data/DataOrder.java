package org.flexllm.peft.data;

import java.nio.ByteBuffer;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * The order in which a job visits its examples: a shuffle per epoch that is a pure function of
 * (seed, epoch), so that a job resumed from a checkpoint visits the rest of an epoch in the order it would have.
 *
 * @param seed the job's data seed
 * @param size the number of examples
 */
public record DataOrder(long seed, int size) {
    private static final RandomGeneratorFactory<RandomGenerator.SplittableGenerator> ALGORITHM =
            RandomGeneratorFactory.of("L64X128MixRandom");
    /** The stream {@link Dataset#split} draws from; epochs use streams 0, 1, 2, ... */
    static final long SPLIT_STREAM = -1;

    /**
     * @throws IllegalArgumentException when {@code size} is negative
     */
    public DataOrder {
        if (size < 0) {
            throw new IllegalArgumentException("size = " + size + " must be >= 0");
        }
    }

    /**
     * The indices {@code 0..size-1} in the order of epoch {@code epoch}.
     *
     * @throws IllegalArgumentException when {@code epoch} is negative
     */
    public int[] epoch(long epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch = " + epoch + " must be >= 0");
        }
        return permutation(size, generator(seed, epoch));
    }

    /** A generator for one stream of a seed; different streams are independent. */
    static RandomGenerator generator(long seed, long stream) {
        return ALGORITHM.create(ByteBuffer.allocate(2 * Long.BYTES).putLong(seed).putLong(stream).array());
    }

    /** A uniformly random permutation of {@code 0..size-1} (Fisher–Yates). */
    static int[] permutation(int size, RandomGenerator random) {
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        for (int i = size - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        return order;
    }
}
