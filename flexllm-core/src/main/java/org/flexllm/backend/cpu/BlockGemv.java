package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * {@link Gemv}'s inner loop for Q8_0 and Q4_0 weights, reading the blocks straight from the mapping. Both formats
 * are 32-weight blocks that start with an f16 scale; the block's weights are taken as two halves of 16 (Q8_0: its
 * bytes 0–15 and 16–31; Q4_0: the low and the high nibbles of its 16 bytes), each half widened to f32 lanes in
 * registers and multiplied into a per-block sum with x, which the block's scale multiplies once. So memory streams
 * the quantized bytes only and nothing goes through scratch. Needs float vectors of 8 or 16 lanes (a whole number per half block, and a byte vector of 64 bits or
 * more); other species use Gemv's chunked widening.
 */
final class BlockGemv {
    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.length() * Byte.SIZE)));
    private static final int BLOCK = 32;
    private static final int HALF = 16;
    private static final int SCALE_BYTES = 2;

    private BlockGemv() {}

    /** Whether {@link #apply} runs {@code dtype} on this machine's vector species. */
    static boolean supports(DType dtype) {
        return (dtype == DType.Q8_0 || dtype == DType.Q4_0) && (F.length() == 8 || F.length() == 16);
    }

    /** y[i, r] (+)= x[i, :]·W[r, :] for the weight rows {@code [o, o + 4)} that exist and every row i &lt; n of x. */
    static void apply(MemorySegment x, int n, Tensor w, MemorySegment y, int o, boolean accumulate) {
        boolean nibbles = w.dtype() == DType.Q4_0;
        int in = w.cols();
        int out = w.rows();
        long rowBytes = w.dtype().bytes(in);
        for (int r = o; r < Math.min(o + Gemv.ROWS, out); r++) {
            for (int i = 0; i < n; i++) {
                float dot = dot(nibbles, w.data(), rowBytes * r, w.dtype().blockBytes(), in / BLOCK, x,
                        (long) i * in * Float.BYTES);
                Matmul.store(y, (long) i * out + r, dot, accumulate);
            }
        }
    }

    /**
     * One weight row (from byte {@code row}) against one row of x (from byte {@code xi}). A row at a time keeps the
     * method small enough for C2 to inline every vector helper (a vector returned from a call it does not inline
     * is boxed, and slow); the row is read from memory once, for the first row of x, and from L1 after.
     */
    private static float dot(boolean nibbles, MemorySegment data, long row, int blockBytes, int blocks,
            MemorySegment x, long xi) {
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * blockBytes;
            long xb = xi + (long) b * BLOCK * Float.BYTES;
            FloatVector acc = FloatVector.zero(F);
            for (int j = 0; j < HALF; j += F.length()) {
                FloatVector low = FloatVector.fromMemorySegment(F, x, xb + (long) j * Float.BYTES, LE);
                FloatVector high = FloatVector.fromMemorySegment(F, x, xb + (long) (j + HALF) * Float.BYTES, LE);
                long q = block + SCALE_BYTES + j;
                acc = VectorMath.fma(high(nibbles, data, q), high, VectorMath.fma(low(nibbles, data, q), low, acc));
            }
            float scale = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, block));
            sum = VectorMath.fma(acc, FloatVector.broadcast(F, scale), sum);
        }
        return VectorMath.sumLanes(sum);
    }

    /** Weights {@code [j, j + F.length())} of the block whose bytes from {@code q} are read: as f32 lanes. */
    private static FloatVector low(boolean nibbles, MemorySegment data, long q) {
        ByteVector bytes = ByteVector.fromMemorySegment(B, data, q, LE);
        if (!nibbles) {
            return floats(bytes);
        }
        return floats(bytes.and((byte) 0xF).sub((byte) 8));
    }

    /** Weights {@code [j + 16, j + 16 + F.length())}: Q8_0's next 16 bytes on, Q4_0's high nibbles of the same. */
    private static FloatVector high(boolean nibbles, MemorySegment data, long q) {
        if (!nibbles) {
            return floats(ByteVector.fromMemorySegment(B, data, q + HALF, LE));
        }
        ByteVector bytes = ByteVector.fromMemorySegment(B, data, q, LE);
        return floats(bytes.lanewise(VectorOperators.LSHR, 4).sub((byte) 8));
    }

    private static FloatVector floats(ByteVector bytes) {
        return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, 0);
    }
}
