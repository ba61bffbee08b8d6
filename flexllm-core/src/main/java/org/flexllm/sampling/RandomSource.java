package org.flexllm.sampling;

import java.util.random.RandomGenerator;
import java.util.random.RandomGenerator.SplittableGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Hands each request the random generator its tokens are drawn with. A seeded request gets a generator made
 * from its seed alone, so its output is reproducible whatever else runs; an unseeded one gets a generator split
 * off the engine's, so requests never share a stream. The algorithm is L64X128MixRandom (an LXM generator:
 * splittable, statistically strong, cheap to create). Thread-safe.
 */
public final class RandomSource {
    private static final RandomGeneratorFactory<SplittableGenerator> ALGORITHM =
            RandomGeneratorFactory.of("L64X128MixRandom");

    private final SplittableGenerator engine;

    /** A source whose unseeded requests are reproducible given {@code engineSeed} and the order they arrive in. */
    public RandomSource(long engineSeed) {
        this.engine = ALGORITHM.create(engineSeed);
    }

    /** A new generator for one request; the caller keeps it with the request for the request's lifetime. */
    public synchronized RandomGenerator forRequest(SamplingParams params) {
        return params.seed().isPresent() ? ALGORITHM.create(params.seed().getAsLong()) : engine.split();
    }
}
