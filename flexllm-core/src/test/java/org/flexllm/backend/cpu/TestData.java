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

    /**
     * A {@code [rows, cols]} matrix of random bytes in {@code dtype}'s blocks, whose f16 scale fields (at the offsets
     * of ggml's layouts) then get random values in [-1, 1): every nibble and 6-bit value, every packed Q4_K
     * scale and min, Q6_K's signed sub-block scales of both signs, none of which our quantizer need produce.
     */
    static Tensor arbitraryBlocks(Arena arena, Random random, DType dtype, int rows, int cols) {
        long bytes = dtype.bytes((long) rows * cols);
        MemorySegment data = arena.allocate(bytes, 64);
        for (long i = 0; i < bytes; i++) {
            data.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
        int[] halves = switch (dtype) {
            case Q4_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> new int[] {0};
        };
        for (long block = 0; block < bytes; block += dtype.blockBytes()) {
            for (int half : halves) {
                data.set(ValueLayout.JAVA_SHORT_UNALIGNED, block + half,
                        Float.floatToFloat16(random.nextFloat() * 2 - 1));
            }
        }
        return new Tensor("arbitrary.weight", dtype, Shape.of(rows, cols), data);
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
