package org.flexllm.jmh;

import java.util.concurrent.TimeUnit;
import org.flexllm.backend.cpu.Parallel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The fixed cost of one {@link Parallel#forRange} fork/join, which the forward pass pays about ten times per
 * layer: a body that does almost nothing, split into {@code n} indices.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ParallelBench {
    @Param({"2", "64"})
    public int n;

    private final int[] counts = new int[64];

    @Benchmark
    public int forRange() {
        Parallel.forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                counts[i]++;
            }
        });
        return counts[0];
    }
}
