package org.flexllm.peft.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class DataOrderTest {
    @Test
    void eachEpochIsAPermutation() {
        int[] order = new DataOrder(3, 100).epoch(0);
        assertArrayEquals(IntStream.range(0, 100).toArray(), Arrays.stream(order).sorted().toArray());
        assertFalse(Arrays.equals(IntStream.range(0, 100).toArray(), order), "shuffled");
    }

    @Test
    void anEpochsOrderDependsOnlyOnSeedAndEpoch() {
        DataOrder running = new DataOrder(11, 50);
        running.epoch(0);
        running.epoch(1);
        int[] third = running.epoch(2);
        assertArrayEquals(third, new DataOrder(11, 50).epoch(2), "a resumed job sees the same order");
        assertFalse(Arrays.equals(third, running.epoch(1)), "epochs differ");
        assertFalse(Arrays.equals(third, new DataOrder(12, 50).epoch(2)), "seeds differ");
    }
}
