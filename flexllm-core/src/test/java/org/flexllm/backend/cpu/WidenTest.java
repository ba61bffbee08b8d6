package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class WidenTest {
    /** Every 16-bit pattern (zeros, subnormals, normals, infinities, NaNs of both signs) widens as DTypes does. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void widensEveryHalfPrecisionPatternExactly(DType dtype) {
        int patterns = 1 << 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate((long) patterns * Short.BYTES);
            for (int bits = 0; bits < patterns; bits++) {
                data.setAtIndex(ValueLayout.JAVA_SHORT, bits, (short) bits);
            }
            // 256 rows of 256 columns: whole vectors, no tail.
            Tensor w = new Tensor("all", dtype, Shape.of(256, 256), data);
            MemorySegment dst = arena.allocate((long) patterns * Float.BYTES);
            for (int row = 0; row < 256; row++) {
                Widen.toFloat(w, row, dst, row * 256L);
            }
            for (int bits = 0; bits < patterns; bits++) {
                String pattern = "pattern 0x" + Integer.toHexString(bits);
                assertEquals(Float.floatToRawIntBits(DTypes.read(dtype, data, bits)),
                        Float.floatToRawIntBits(dst.getAtIndex(ValueLayout.JAVA_FLOAT, bits)), pattern);
            }
        }
    }

    /** Quantized rows are whole blocks: {@link QuantizedKernelsTest} covers them. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void writesOneRowAtTheGivenIndexAndNothingElse(DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            Random random = new Random(3);
            for (int cols : new int[] {1, 7, 16, 37}) {
                Tensor w = TestData.matrix(arena, random, dtype, 5, cols);
                MemorySegment dst = arena.allocate((cols + 4L) * Float.BYTES);
                dst.fill((byte) 0x7f);

                Widen.toFloat(w, 3, dst, 2);

                for (int i = 0; i < cols + 4; i++) {
                    float expected = i >= 2 && i < cols + 2
                            ? w.getFloat(3L * cols + i - 2)
                            : Float.intBitsToFloat(0x7f7f7f7f);
                    assertEquals(expected, TestData.get(dst, i), "dst[" + i + "], cols " + cols);
                }
            }
        }
    }

    @Test
    void rejectsARowOutsideTheMatrix() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = TestData.matrix(arena, new Random(1), DType.BF16, 2, 4);
            MemorySegment dst = arena.allocate(16);
            assertThrows(IndexOutOfBoundsException.class, () -> Widen.toFloat(w, 2, dst, 0));
        }
    }
}
