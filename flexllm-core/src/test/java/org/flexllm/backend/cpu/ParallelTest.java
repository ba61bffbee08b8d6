package org.flexllm.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParallelTest {
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 7, 16, 17, 100, 1000})
    void runsEveryIndexExactlyOnce(int n) {
        for (int repeat = 0; repeat < 50; repeat++) {
            AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(n, 1));
            Parallel.forRange(n, (from, to) -> {
                for (int i = from; i < to; i++) {
                    seen.incrementAndGet(i);
                }
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen.get(i), "index " + i);
            }
        }
    }

    @Test
    void rethrowsAnExceptionFromAChunkAndStaysUsable() {
        IllegalStateException thrown = new IllegalStateException("chunk failed");
        Parallel.RangeBody failsAt40 = (from, to) -> {
            if (from <= 40 && 40 < to) {
                throw thrown;
            }
        };
        IllegalStateException caught =
                assertThrows(IllegalStateException.class, () -> Parallel.forRange(64, failsAt40));
        assertSame(thrown, caught);
        runsEveryIndexExactlyOnce(64);
    }

    @Test
    void nestedCallsRunInline() {
        AtomicIntegerArray seen = new AtomicIntegerArray(8 * 8);
        Parallel.forRange(8, (from, to) -> {
            for (int i = from; i < to; i++) {
                int row = i;
                Parallel.forRange(8, (f, t) -> {
                    for (int j = f; j < t; j++) {
                        seen.incrementAndGet(row * 8 + j);
                    }
                });
            }
        });
        for (int i = 0; i < 64; i++) {
            assertEquals(1, seen.get(i), "index " + i);
        }
    }

    @Test
    void concurrentCallersEachGetTheirWholeRange() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            List<Callable<long[]>> tasks = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                tasks.add(() -> {
                    long[] sums = new long[200];
                    for (int repeat = 0; repeat < sums.length; repeat++) {
                        long[] parts = new long[1000];
                        Parallel.forRange(1000, (from, to) -> {
                            for (int i = from; i < to; i++) {
                                parts[i] = i;
                            }
                        });
                        for (long p : parts) {
                            sums[repeat] += p;
                        }
                    }
                    return sums;
                });
            }
            for (Future<long[]> result : callers.invokeAll(tasks)) {
                for (long sum : result.get()) {
                    assertEquals(999L * 1000 / 2, sum);
                }
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /** Jobs of different sizes back to back: a late worker must never run a chunk of the wrong job. */
    @Test
    void backToBackJobsOfDifferentSizesEachRunExactlyTheirRange() {
        for (int job = 0; job < 300_000; job++) {
            int n = 1 + job % 37;
            AtomicInteger covered = new AtomicInteger();
            Parallel.forRange(n, (from, to) -> covered.addAndGet(to - from));
            assertEquals(n, covered.get(), "job " + job);
        }
    }
}
