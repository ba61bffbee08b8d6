package org.flexllm.backend.cpu;

import org.junit.jupiter.params.provider.Arguments;

import java.util.stream.Stream;

import java.util.List;

import java.util.ArrayList;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/** Random operands for kernel tests. */
final class TestData {
    private TestData() {}

    /** {@code count} floats uniform in [-1, 1). */
    static MemorySegment floats(Arena arena, Random random, long count) {
        MemorySegment s = arena.allocate(count * Float.BYTES, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, random.nextFloat() * 2 - 1);
        }
        return s;
    }

    /** A {@code [rows, cols]} matrix of values uniform in [-1, 1), rounded to {@code dtype}. */
    static Tensor matrix(Arena arena, Random random, DType dtype, int rows, int cols) {
        MemorySegment data = arena.allocate((long) rows * cols * dtype.byteSize(), 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            DTypes.write(dtype, data, i, random.nextFloat() * 2 - 1);
        }
        return new Tensor("test.weight", dtype, Shape.of(rows, cols), data);
    }

    /** A {@code [rows, cols]} matrix of values uniform in [-1, 1), quantized to {@code dtype}. */
    static Tensor quantized(Arena arena, Random random, DType dtype, int rows, int cols) {
        Tensor f32 = matrix(arena, random, DType.F32, rows, cols);
        return DTypes.convert(f32, dtype, arena);
    }

    static float get(MemorySegment s, long index) {
        return s.getAtIndex(ValueLayout.JAVA_FLOAT, index);
    }

    /**
     * Every unquantized dtype × shape × {overwrite, accumulate}: the arguments of the matrix-product tests
     * (quantized rows are whole blocks, which most of these shapes are not: {@link QuantizedKernelsTest}).
     */
    static Stream<Arguments> everyDtypeAndAccumulate(int[][] shapes) {
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : List.of(DType.F32, DType.F16, DType.BF16)) {
            for (int[] s : shapes) {
                cases.add(Arguments.of(dtype, s[0], s[1], s[2], false));
                cases.add(Arguments.of(dtype, s[0], s[1], s[2], true));
            }
        }
        return cases.stream();
    }
}
