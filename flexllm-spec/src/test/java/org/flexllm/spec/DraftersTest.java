package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DraftersTest {
    private final Proposals out = new Proposals(4);

    @Test
    void ngramProposesWhatFollowedTheMostRecentLongestMatch() {
        // "1 2 3 9 ... 1 2 3 4 ... 2 3": the last two tokens 2 3 occur twice; the most recent was followed by 4
        int[] tokens = {1, 2, 3, 9, 5, 1, 2, 3, 4, 7, 2, 3};
        new NgramDrafter(3).propose(tokens, tokens.length, 1, out);
        assertEquals(1, out.size());
        assertEquals(4, out.token(0));
        assertEquals(2 / 3.0, out.probability(0), 1e-12, "a 2-token match: confidence 2/3");
    }

    @Test
    void ngramFillsSiblingsFromEarlierAndShorterMatches() {
        int[] tokens = {1, 2, 3, 9, 5, 1, 2, 3, 4, 7, 3, 8, 2, 3};
        new NgramDrafter(3).propose(tokens, tokens.length, 4, out);
        // 2-gram "2 3": followers 4 (most recent), then 9; then 1-gram "3": 8, then the 4 and 9 again (skipped)
        assertArrayEquals(new int[] {4, 9, 8}, proposed());
        double p0 = 2 / 3.0;
        double p1 = 2 / 3.0 * (1 - p0);
        double p2 = 0.5 * (1 - p0 - p1);
        assertEquals(p0, out.probability(0), 1e-12);
        assertEquals(p1, out.probability(1), 1e-12);
        assertEquals(p2, out.probability(2), 1e-12);
    }

    @Test
    void ngramProbabilitiesDecreaseAndSumBelowOne() {
        int[] tokens = {5, 1, 5, 2, 5, 3, 5, 4, 5, 6, 5};
        new NgramDrafter(2).propose(tokens, tokens.length, 4, out);
        assertEquals(4, out.size());
        double sum = 0;
        for (int i = 0; i < out.size(); i++) {
            sum += out.probability(i);
            assertTrue(i == 0 || out.probability(i) < out.probability(i - 1));
        }
        assertTrue(sum < 1);
    }

    @Test
    void ngramWithoutAMatchProposesNothing() {
        int[] tokens = {1, 2, 3, 4};
        new NgramDrafter().propose(tokens, tokens.length, 3, out);
        assertEquals(0, out.size());
        new NgramDrafter().propose(tokens, 1, 3, out);
        assertEquals(0, out.size());
        assertThrows(InvalidSpeculationException.class, () -> new NgramDrafter(0));
    }

    @Test
    void oracleAcceptsAtRateAlphaAlongTheContinuation() {
        int[] prompt = {1, 2};
        int[] continuation = new int[4000];
        for (int i = 0; i < continuation.length; i++) {
            continuation[i] = (i * 7 + 3) % 50;
        }
        OracleDrafter oracle = new OracleDrafter(0.7, 50, prompt, continuation, 42);
        int[] sequence = new int[prompt.length + continuation.length];
        System.arraycopy(prompt, 0, sequence, 0, 2);
        System.arraycopy(continuation, 0, sequence, 2, continuation.length);
        int right = 0;
        for (int i = 0; i < continuation.length; i++) {
            oracle.propose(sequence, prompt.length + i, 3, out);
            assertEquals(3, out.size());
            assertEquals(0.7, out.probability(0));
            assertEquals(0.15, out.probability(1), 1e-12);
            assertEquals(0.15, out.probability(2), 1e-12);
            assertTrue(out.token(1) != continuation[i] && out.token(2) != continuation[i],
                    "siblings are wrong tokens");
            right += out.token(0) == continuation[i] ? 1 : 0;
        }
        double rate = right / (double) continuation.length;
        assertEquals(0.7, rate, 0.03, "4000 Bernoulli(0.7) trials stay within 4 standard deviations");
    }

    @Test
    void oracleIsDeterministicAndSeeded() {
        int[] prompt = {1, 2, 3};
        int[] continuation = {4, 5, 6, 7};
        int[] sequence = {1, 2, 3, 4, 5};
        OracleDrafter a = new OracleDrafter(0.5, 1000, prompt, continuation, 7);
        OracleDrafter b = new OracleDrafter(0.5, 1000, prompt, continuation, 7);
        int[] fromA = proposedBy(a, sequence, 4);
        assertArrayEquals(fromA, proposedBy(b, sequence, 4));
        assertArrayEquals(fromA, proposedBy(a, sequence, 4));
        int differing = 0;
        for (long seed = 8; seed < 18; seed++) {
            OracleDrafter other = new OracleDrafter(0.5, 1000, prompt, continuation, seed);
            differing += java.util.Arrays.equals(fromA, proposedBy(other, sequence, 4)) ? 0 : 1;
        }
        assertTrue(differing > 0, "another seed gives other random tokens");
    }

    @Test
    void oracleOffTheContinuationProposesOnlyWrongTokens() {
        int[] prompt = {1};
        int[] continuation = {2, 3, 4};
        OracleDrafter certain = new OracleDrafter(1, 10, prompt, continuation, 0);
        int[] onPath = {1, 2};
        certain.propose(onPath, 2, 3, out);
        assertArrayEquals(new int[] {3}, proposed(), "alpha 1: the right token alone, siblings would score 0");
        int[] offPath = {1, 9};
        certain.propose(offPath, 2, 3, out);
        assertEquals(1, out.size(), "random, so possibly any token, reported with probability alpha");
        int[] pastTheEnd = {1, 2, 3, 4};
        certain.propose(pastTheEnd, 4, 1, out);
        assertEquals(1, out.size());
    }

    @Test
    void oracleRejectsBadSettings() {
        assertThrows(InvalidSpeculationException.class, () -> new OracleDrafter(0, 10, new int[1], new int[1], 0));
        assertThrows(InvalidSpeculationException.class, () -> new OracleDrafter(1.5, 10, new int[1], new int[1], 0));
        assertThrows(InvalidSpeculationException.class, () -> new OracleDrafter(0.5, 1, new int[1], new int[1], 0));
    }

    @Test
    void proposalsStayDistinctAndInRange() {
        Proposals p = new Proposals(1);
        p.add(3, 0.5);
        p.add(3, 0.4);
        p.add(4, 0.2);
        assertEquals(2, p.size());
        assertThrows(IllegalArgumentException.class, () -> p.add(5, 0));
        assertThrows(IllegalArgumentException.class, () -> p.add(5, 1.01));
        assertThrows(IllegalArgumentException.class, () -> p.add(-1, 0.5));
        assertThrows(IndexOutOfBoundsException.class, () -> p.token(2));
    }

    private int[] proposedBy(Drafter drafter, int[] sequence, int k) {
        drafter.propose(sequence, sequence.length, k, out);
        return proposed();
    }

    private int[] proposed() {
        int[] tokens = new int[out.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = out.token(i);
        }
        return tokens;
    }
}
