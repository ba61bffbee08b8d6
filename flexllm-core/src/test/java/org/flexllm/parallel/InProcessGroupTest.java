package org.flexllm.parallel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class InProcessGroupTest {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    /** Runs {@code work} on {@code size} ranks, each on its own thread. */
    private static void onRanks(int size, Duration deadline, RankWork work) {
        InProcessGroup group = InProcessGroup.of(size, deadline);
        var communicators = IntStream.range(0, size).mapToObj(group::rank).toList();
        try (var threads = new RankThreads(communicators, deadline); Arena arena = Arena.ofShared()) {
            threads.run(r -> work.run(group.rank(r), arena));
        }
    }

    @FunctionalInterface
    private interface RankWork {
        void run(Communicator c, Arena arena);
    }

    private static MemorySegment floats(Arena arena, float... values) {
        return arena.allocateFrom(JAVA_FLOAT, values);
    }

    private static float[] read(MemorySegment s) {
        return s.toArray(JAVA_FLOAT);
    }

    @Test
    void allReduceSumsInRankOrderOnEveryRank() {
        // In f32, (1e8 + 1) - 1e8 = 0 but 1e8 - 1e8 + 1 = 1: rank order 0, 1, 2 gives 0 for element 0.
        float[][] inputs = {{1e8f, 1, 2, 3, 4, 5, 6}, {1, 10, 20, 30, 40, 50, 60}, {-1e8f, 100, 200, 300, 400, 500, 600}};
        float[] expected = {0, 111, 222, 333, 444, 555, 666};
        float[][] results = new float[3][];
        onRanks(3, DEADLINE, (c, arena) -> {
            MemorySegment buffer = floats(arena, inputs[c.rank()]);
            c.allReduce(buffer, 7);
            results[c.rank()] = read(buffer);
        });
        for (float[] result : results) {
            assertArrayEquals(expected, result);
        }
    }

    @Test
    void allReduceLeavesFloatsBeyondTheCountAlone() {
        float[][] results = new float[2][];
        onRanks(2, DEADLINE, (c, arena) -> {
            MemorySegment buffer = floats(arena, 1, 2, 99);
            c.allReduce(buffer, 2);
            results[c.rank()] = read(buffer);
        });
        assertArrayEquals(new float[] {2, 4, 99}, results[0]);
        assertArrayEquals(new float[] {2, 4, 99}, results[1]);
    }

    @Test
    void allGatherConcatenatesInRankOrder() {
        float[][] results = new float[3][];
        onRanks(3, DEADLINE, (c, arena) -> {
            MemorySegment recv = arena.allocate(6L * Float.BYTES);
            c.allGather(floats(arena, c.rank(), 10 + c.rank()), 2, recv);
            results[c.rank()] = read(recv);
        });
        for (float[] result : results) {
            assertArrayEquals(new float[] {0, 10, 1, 11, 2, 12}, result);
        }
    }

    @Test
    void reduceScatterHandsEachRankItsShareOfTheSum() {
        float[][] results = new float[2][];
        onRanks(2, DEADLINE, (c, arena) -> {
            MemorySegment recv = arena.allocate(2L * Float.BYTES);
            float base = c.rank() * 100;
            c.reduceScatter(floats(arena, base + 1, base + 2, base + 3, base + 4), recv, 2);
            results[c.rank()] = read(recv);
        });
        assertArrayEquals(new float[] {102, 104}, results[0]);
        assertArrayEquals(new float[] {106, 108}, results[1]);
    }

    @Test
    void backToBackCollectivesNeverMixUpTheirBuffers() {
        int rounds = 2000;
        float[][] last = new float[4][];
        onRanks(4, DEADLINE, (c, arena) -> {
            MemorySegment buffer = arena.allocate(5L * Float.BYTES);
            for (int i = 0; i < rounds; i++) {
                for (int k = 0; k < 5; k++) {
                    buffer.setAtIndex(JAVA_FLOAT, k, i + c.rank() + k);
                }
                c.allReduce(buffer, 5);
                if (buffer.getAtIndex(JAVA_FLOAT, 0) != 4 * i + 6) {
                    throw new AssertionError("round " + i + " on rank " + c.rank() + ": " + buffer.getAtIndex(JAVA_FLOAT, 0));
                }
            }
            last[c.rank()] = read(buffer);
        });
        int i = rounds - 1;
        for (int k = 0; k < 5; k++) {
            assertEquals(4f * (i + k) + 6, last[0][k]);
        }
        for (float[] result : last) {
            assertArrayEquals(last[0], result);
        }
    }

    @Test
    void aRankThatFailsBeforeACollectiveFailsTheOthersWithItsCause() {
        IllegalStateException boom = new IllegalStateException("rank 1's kernel failed");
        CollectiveFailedException[] seen = new CollectiveFailedException[3];
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> onRanks(3, DEADLINE, (c, arena) -> {
            if (c.rank() == 1) {
                throw boom;
            }
            try {
                c.allReduce(arena.allocate(4L * Float.BYTES), 4);
            } catch (CollectiveFailedException e) {
                seen[c.rank()] = e;
                throw e;
            }
        }));
        assertSame(boom, thrown, "the root failure, not a collective's echo of it");
        assertSame(boom, seen[0].getCause());
        assertSame(boom, seen[2].getCause());
    }

    @Test
    void aRankThatNeverArrivesTimesOutTheOthersNamingIt() {
        InProcessGroup group = InProcessGroup.of(2, Duration.ofMillis(200));
        var e = assertThrows(CollectiveFailedException.class, group.rank(0)::barrier);
        assertInstanceOf(TimeoutException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("rank(s) [1]"), e.getCause().getMessage());
        var later = assertThrows(CollectiveFailedException.class, group.rank(1)::barrier,
                "a failed group stays failed");
        assertSame(e.getCause(), later.getCause());
    }

    @Test
    void mismatchedCountsAreRefusedOnEveryRank() {
        var e = assertThrows(CollectiveFailedException.class, () -> onRanks(2, DEADLINE,
                (c, arena) -> c.allReduce(arena.allocate(8L * Float.BYTES), 4 + c.rank())));
        assertTrue(e.getMessage().contains("floats met rank"), e.getMessage());
    }

    @Test
    void aGroupNeedsRanksAndADeadline() {
        assertThrows(IllegalArgumentException.class, () -> InProcessGroup.of(0, DEADLINE));
        assertThrows(IllegalArgumentException.class, () -> InProcessGroup.of(2, Duration.ZERO));
    }
}
