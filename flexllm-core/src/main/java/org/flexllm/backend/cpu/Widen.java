package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Tensor;

/**
 * Widening of stored weights (F32, F16, BF16) to f32, a vector of lanes at a time. The same rules as
 * {@link DTypes}, vectorized: bf16 is the top half of an f32, so it widens with a 16-bit shift; the Vector
 * API has no f16 conversion, so f16 widens by moving its exponent and mantissa into f32 position and
 * rescaling the exponent with one multiply (which also normalizes subnormals), with Inf/NaN patched in.
 */
public final class Widen {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** 2^(127-15): moves an f16 exponent bias to the f32 one. */
    private static final float F16_EXPONENT_REBIAS = 0x1p112f;
    private static final int F16_INF_SHIFTED = 0x7c00 << 13;
    private static final int F32_INF = 0x7f800000;

    private Widen() {}

    /** Lanes per f32 vector on this machine (16 with AVX-512). */
    static int lanes() {
        return F.length();
    }

    /**
     * Writes row {@code row} of the matrix {@code w} ({@code w.cols()} elements) as f32 into {@code dst}
     * starting at float index {@code dstIndex}; e.g. an embedding lookup.
     */
    public static void toFloat(Tensor w, int row, MemorySegment dst, long dstIndex) {
        Objects.checkIndex(row, w.rows());
        widen(w.dtype(), w.data(), (long) row * w.cols(), dst, dstIndex, w.cols());
    }

    /** Elements {@code [srcIndex, srcIndex + len)} of stored data, as f32 at float index {@code dstIndex}. */
    static void widen(DType dtype, MemorySegment src, long srcIndex, MemorySegment dst, long dstIndex, int len) {
        int vectorEnd = len - len % F.length();
        for (int i = 0; i < vectorEnd; i += F.length()) {
            load(dtype, src, srcIndex + i).intoMemorySegment(dst, (dstIndex + i) * Float.BYTES, LE);
        }
        for (int i = vectorEnd; i < len; i++) {
            dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, dstIndex + i, DTypes.read(dtype, src, srcIndex + i));
        }
    }

    /** Elements {@code [index, index + lanes())} of stored data, widened to f32. */
    static FloatVector load(DType dtype, MemorySegment data, long index) {
        return switch (dtype) {
            case F32 -> FloatVector.fromMemorySegment(F, data, index * Float.BYTES, LE);
            case BF16 -> halves(data, index).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            case F16 -> f16(halves(data, index));
        };
    }

    /** 16-bit elements sign-extended into int lanes. */
    private static IntVector halves(MemorySegment data, long index) {
        return (IntVector) ShortVector.fromMemorySegment(S, data, index * Short.BYTES, LE)
                .convertShape(VectorOperators.S2I, I, 0);
    }

    private static FloatVector f16(IntVector half) {
        IntVector shifted = half.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(F16_EXPONENT_REBIAS).reinterpretAsInts();
        IntVector magnitude =
                finite.blend(shifted.or(F32_INF), shifted.compare(VectorOperators.GE, F16_INF_SHIFTED));
        return magnitude.or(half.and(0x80000000)).reinterpretAsFloats();
    }
}
