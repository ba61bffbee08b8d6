package org.flexllm.tensor.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.flexllm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The block formats: quantize → dequantize within each format's error, and hand-built blocks (written byte by
 * byte from ggml's layout description, not by our encoders) decoding to the values that layout defines.
 */
class BlockFormatTest {
    /**
     * Largest error relative to the largest |x| of the block: half a quantization step plus f16 scale rounding;
     * Q4_0's whole step at the clamped end of its asymmetric range (+7 against −8).
     */
    @ParameterizedTest
    @CsvSource({"Q8_0, 0.0045", "Q4_0, 0.126", "Q4_K, 0.09", "Q6_K, 0.022"})
    void roundTripsWithinTheFormatsError(DType dtype, double maxRelative) {
        Random random = new Random(5);
        int n = 4 * 256;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * (1 + i / 256));
        }
        float[] back = roundTrip(dtype, x);
        for (int b = 0; b < n / dtype.blockSize(); b++) {
            int from = b * dtype.blockSize();
            float absMax = BlockFormat.absMax(x, from, dtype.blockSize());
            for (int i = from; i < from + dtype.blockSize(); i++) {
                assertTrue(Math.abs(back[i] - x[i]) <= maxRelative * absMax,
                        dtype + " x[" + i + "] = " + x[i] + " came back as " + back[i]);
            }
        }
    }

    @Test
    void zerosStayZeros() {
        for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K}) {
            assertArrayEquals(new float[256], roundTrip(dtype, new float[256]), dtype.name());
        }
    }

    @Test
    void valuesOnTheGridComeBackExactly() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) {
            x[i] = i % 16 - 8;
        }
        x[0] = -8;
        assertArrayEquals(x, roundTrip(DType.Q4_0, x));
        float[] bytes = new float[32];
        for (int i = 0; i < 32; i++) {
            bytes[i] = (i * 37 % 255 - 127) * 0.25f;
        }
        bytes[0] = 127 * 0.25f;
        assertArrayEquals(bytes, roundTrip(DType.Q8_0, bytes));
    }

    /** ggml's Q4_K: d, dmin, 12 scale bytes, then 4 chunks of 32 bytes, each low nibbles then high nibbles. */
    @Test
    void decodesAHandBuiltQ4KBlock() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(144);
            block.set(BlockFormat.HALF, 0, Float.floatToFloat16(0.5f));
            block.set(BlockFormat.HALF, 2, Float.floatToFloat16(0.25f));
            int[] sc = {1, 2, 3, 4, 40, 50, 60, 63};
            int[] m = {5, 6, 7, 8, 17, 33, 49, 62};
            for (int j = 0; j < 4; j++) {
                put(block, 4 + j, sc[j] | (sc[j + 4] >> 4) << 6);
                put(block, 8 + j, m[j] | (m[j + 4] >> 4) << 6);
                put(block, 12 + j, (sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
            }
            for (int chunk = 0; chunk < 4; chunk++) {
                for (int l = 0; l < 32; l++) {
                    put(block, 16 + chunk * 32 + l, (l + chunk) % 16 | ((l * 3 + chunk) % 16) << 4);
                }
            }
            float[] decoded = new float[256];
            Quantized.dequantize(DType.Q4_K, block, 0, decoded, 0, 256);
            for (int chunk = 0; chunk < 4; chunk++) {
                for (int l = 0; l < 32; l++) {
                    int low = 2 * chunk;
                    int high = low + 1;
                    assertEquals(0.5f * sc[low] * ((l + chunk) % 16) - 0.25f * m[low], decoded[chunk * 64 + l], 1e-6);
                    assertEquals(0.5f * sc[high] * ((l * 3 + chunk) % 16) - 0.25f * m[high],
                            decoded[chunk * 64 + 32 + l], 1e-6);
                }
            }
        }
    }

    /** ggml's Q6_K: per half of 128 weights, 64 ql bytes, 32 qh bytes; 16 scales; d last. */
    @Test
    void decodesAHandBuiltQ6KBlock() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(210);
            int[] q = new int[256];
            for (int p = 0; p < 256; p++) {
                q[p] = (p * 7 + 3) % 64;
            }
            for (int half = 0; half < 2; half++) {
                for (int l = 0; l < 32; l++) {
                    int base = half * 128;
                    put(block, half * 64 + l, q[base + l] & 15 | (q[base + l + 64] & 15) << 4);
                    put(block, half * 64 + l + 32, q[base + l + 32] & 15 | (q[base + l + 96] & 15) << 4);
                    put(block, 128 + half * 32 + l, q[base + l] >> 4 | (q[base + l + 32] >> 4) << 2
                            | (q[base + l + 64] >> 4) << 4 | (q[base + l + 96] >> 4) << 6);
                }
            }
            for (int j = 0; j < 16; j++) {
                put(block, 192 + j, j * 9 - 70);
            }
            block.set(BlockFormat.HALF, 208, Float.floatToFloat16(0.125f));
            float[] decoded = new float[256];
            Quantized.dequantize(DType.Q6_K, block, 0, decoded, 0, 256);
            for (int p = 0; p < 256; p++) {
                assertEquals(0.125f * (p / 16 * 9 - 70) * (q[p] - 32), decoded[p], 1e-6, "weight " + p);
            }
        }
    }

    @Test
    void rangesCuttingBlocksDecodeTheirPart() {
        float[] x = new float[512];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(DType.Q4_K.bytes(512));
            Quantized.quantize(DType.Q4_K, x, 0, 512, data, 0);
            float[] whole = new float[512];
            Quantized.dequantize(DType.Q4_K, data, 0, whole, 0, 512);
            float[] part = new float[300];
            Quantized.dequantize(DType.Q4_K, data, 100, part, 0, 300);
            for (int i = 0; i < 300; i++) {
                assertEquals(whole[100 + i], part[i], "element " + (100 + i));
            }
        }
    }

    private static float[] roundTrip(DType dtype, float[] x) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(dtype.bytes(x.length));
            Quantized.quantize(dtype, x, 0, x.length, data, 0);
            float[] back = new float[x.length];
            Quantized.dequantize(dtype, data, 0, back, 0, x.length);
            return back;
        }
    }

    private static void put(MemorySegment block, long at, int value) {
        block.set(ValueLayout.JAVA_BYTE, at, (byte) value);
    }
}
