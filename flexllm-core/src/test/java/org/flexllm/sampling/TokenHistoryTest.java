package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TokenHistoryTest {

    @Test
    void keepsThePromptsDistinctIdsAndEveryGeneratedToken() {
        TokenHistory history = new TokenHistory(200);
        history.addPrompt(new int[] {5, 199, 5, 0, 199});
        history.add(64);
        history.add(0);
        history.add(64);
        assertArrayEquals(new int[] {5, 199, 0}, prompt(history));
        assertArrayEquals(new int[] {64, 0, 64}, generated(history));
    }

    @Test
    void growsPastItsFirstCapacity() {
        TokenHistory history = new TokenHistory(10_000);
        int[] ids = IntStream.range(0, 1000).map(i -> 9999 - 7 * i).toArray();
        history.addPrompt(ids);
        history.addPrompt(ids);
        IntStream.of(ids).forEach(history::add);
        assertArrayEquals(ids, prompt(history));
        assertArrayEquals(ids, generated(history));
    }

    @Test
    void truncateTakesBackTheLastGeneratedTokens() {
        TokenHistory history = new TokenHistory(10);
        history.addPrompt(new int[] {1});
        history.add(2);
        history.add(3);
        history.add(4);
        history.truncate(1);
        history.add(5);
        assertArrayEquals(new int[] {2, 5}, generated(history));
        assertArrayEquals(new int[] {1}, prompt(history));
        assertThrows(IndexOutOfBoundsException.class, () -> history.truncate(3));
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        TokenHistory history = new TokenHistory(100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> history.add(100));
        assertTrue(e.getMessage().contains("vocabulary of 100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> history.add(-1));
        assertThrows(IllegalArgumentException.class, () -> history.addPrompt(new int[] {3, 100}));
    }

    private static int[] prompt(TokenHistory history) {
        return IntStream.range(0, history.promptIds()).map(history::promptId).toArray();
    }

    private static int[] generated(TokenHistory history) {
        return IntStream.range(0, history.generated()).map(history::generatedId).toArray();
    }
}
