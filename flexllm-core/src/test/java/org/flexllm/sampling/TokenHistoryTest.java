package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TokenHistoryTest {

    @Test
    void keepsDistinctIdsInOrderOfFirstOccurrence() {
        TokenHistory history = new TokenHistory(200);
        history.addAll(new int[] {5, 199, 5, 0, 199});
        history.add(64);
        history.add(0);
        assertArrayEquals(new int[] {5, 199, 0, 64}, IntStream.range(0, history.size()).map(history::id).toArray());
    }

    @Test
    void growsPastItsFirstCapacity() {
        TokenHistory history = new TokenHistory(10_000);
        int[] ids = IntStream.range(0, 1000).map(i -> 9999 - 7 * i).toArray();
        history.addAll(ids);
        history.addAll(ids);
        assertArrayEquals(ids, IntStream.range(0, history.size()).map(history::id).toArray());
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        TokenHistory history = new TokenHistory(100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> history.add(100));
        assertTrue(e.getMessage().contains("vocabulary of 100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> history.add(-1));
    }
}
