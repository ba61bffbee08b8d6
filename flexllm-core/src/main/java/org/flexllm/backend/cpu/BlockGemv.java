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
 * {@link Gemv}'s inner loop for block-quantized weights, reading the blocks straight from the mapping and widening
 * them to f32 lanes in registers, so that memory streams the quantized bytes only and nothing goes through
 * scratch. Q8_0 and Q4_0 are 32-weight blocks that start with an f16 scale; the block's weights are taken as two
 * halves of 16 (Q8_0: its bytes 0–15 and 16–31; Q4_0: the low and the high nibbles of its 16 bytes), each half
 * multiplied into a per-block sum with x, which the block's scale multiplies once. The K-quants' super-blocks are
 * {@link Q4KBlocks} and {@link Q6KBlocks}. Needs float vectors of 8 or 16 lanes (a whole number per half block or
 * sub-block, and a byte vector of as many lanes); other species use Gemv's chunked widening.
 */
final class BlockGemv {
    /** Bytes as many as the float lanes: a byte vector widens lane for lane into a float vector. */
    static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.length() * Byte.SIZE)));
    /**
     * Rows of x up to which widening the blocks again for each row beats widening them once into scratch and
     * reading them from there for every row (decoding costs a few vector operations per weight, reading one).
     */
    static final int MAX_ROWS = 2;
    private static final int BLOCK = 32;
    private static final int HALF = 16;
    private static final int SCALE_BYTES = 2;

    private BlockGemv() {}

    /** Whether {@link #apply} and {@link Dequantize}'s vector decoding run {@code dtype} on this machine's species. */
    static boolean supports(DType dtype) {
        return dtype.isQuantized() && (F.length() == 8 || F.length() == 16);
    }

    /** y[i, r] (+)= x[i, :]·W[r, :] for the weight rows {@code [o, o + 4)} that exist and every row i &lt; n of x. */
    static void apply(MemorySegment x, int n, Tensor w, MemorySegment y, int o, boolean accumulate) {
        int in = w.cols();
        int out = w.rows();
        int blocks = in / w.dtype().blockSize();
        long rowBytes = w.dtype().bytes(in);
        for (int r = o; r < Math.min(o + Gemv.ROWS, out); r++) {
            for (int i = 0; i < n; i++) {
                long xi = (long) i * in * Float.BYTES;
                float dot = switch (w.dtype()) {
                    case Q8_0, Q4_0 -> dot(w.dtype() == DType.Q4_0, w.data(), rowBytes * r, w.dtype().blockBytes(),
                            blocks, x, xi);
                    case Q4_K -> Q4KBlocks.dot(w.data(), rowBytes * r, blocks, x, xi);
                    case Q6_K -> Q6KBlocks.dot(w.data(), rowBytes * r, blocks, x, xi);
                    case F32, F16, BF16 -> throw new IllegalArgumentException(w.dtype() + " is not block-quantized");
                };
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
                FloatVector low = floatsAt(x, xb, j);
                FloatVector high = floatsAt(x, xb, j + HALF);
                long q = block + SCALE_BYTES + j;
                acc = VectorMath.fma(high(nibbles, data, q), high, VectorMath.fma(low(nibbles, data, q), low, acc));
            }
            sum = VectorMath.fma(acc, FloatVector.broadcast(F, half(data, block)), sum);
        }
        return VectorMath.sumLanes(sum);
    }

    /** {@code blocks} Q8_0 or Q4_0 blocks from byte {@code first} as f32 at {@code dst[at]}. */
    static void decode(boolean nibbles, MemorySegment data, long first, int blockBytes, int blocks, float[] dst,
            int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * blockBytes;
            FloatVector d = FloatVector.broadcast(F, half(data, block));
            int out = at + b * BLOCK;
            for (int j = 0; j < HALF; j += F.length()) {
                long q = block + SCALE_BYTES + j;
                low(nibbles, data, q).mul(d).intoArray(dst, out + j);
                high(nibbles, data, q).mul(d).intoArray(dst, out + j + HALF);
            }
        }
    }

    /** The little-endian f16 at byte {@code at}, widened. */
    static float half(MemorySegment data, long at) {
        return Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
    }

    /** Weights {@code [j, j + F.length())} of the block whose bytes from {@code q} are read: as f32 lanes. */
    private static FloatVector low(boolean nibbles, MemorySegment data, long q) {
        ByteVector bytes = bytes(data, q);
        if (!nibbles) {
            return floats(bytes);
        }
        return floats(bytes.and((byte) 0xF).sub((byte) 8));
    }

    /** Weights {@code [j + 16, j + 16 + F.length())}: Q8_0's next 16 bytes on, Q4_0's high nibbles of the same. */
    private static FloatVector high(boolean nibbles, MemorySegment data, long q) {
        if (!nibbles) {
            return floats(bytes(data, q + HALF));
        }
        ByteVector bytes = bytes(data, q);
        return floats(bytes.lanewise(VectorOperators.LSHR, 4).sub((byte) 8));
    }

    /** The signed bytes as f32 lanes. */
    static FloatVector floats(ByteVector bytes) {
        return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, 0);
    }

    /** x[k, k + F.length()) of the row of x at byte {@code from}. */
    static FloatVector floatsAt(MemorySegment x, long from, int k) {
        return FloatVector.fromMemorySegment(F, x, from + (long) k * Float.BYTES, LE);
    }

    /** {@code F.length()} bytes from byte {@code at}. */
    static ByteVector bytes(MemorySegment data, long at) {
        return ByteVector.fromMemorySegment(B, data, at, LE);
    }
}
