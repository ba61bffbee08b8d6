package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class RandomSourceTest {
    private static final SamplingParams UNSEEDED = SamplingParams.builder().build();

    @Test
    void aSeededStreamDependsOnTheSeedAlone() {
        SamplingParams seeded = SamplingParams.builder().seed(5).build();
        RandomSource busy = new RandomSource(1);
        busy.forRequest(UNSEEDED).nextLong();
        assertEquals(new RandomSource(2).forRequest(seeded).nextLong(), busy.forRequest(seeded).nextLong());
    }

    @Test
    void unseededRequestsGetStreamsOfTheirOwn() {
        RandomSource source = new RandomSource(3);
        RandomGenerator first = source.forRequest(UNSEEDED);
        RandomGenerator second = source.forRequest(UNSEEDED);
        assertNotEquals(first.nextLong(), second.nextLong());
    }

    @Test
    void unseededStreamsRepeatForTheSameEngineSeed() {
        assertEquals(new RandomSource(4).forRequest(UNSEEDED).nextLong(),
                new RandomSource(4).forRequest(UNSEEDED).nextLong());
    }
}
