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
 * Widening of stored weights (F32, F16, BF16, and the block-quantized types) to f32, by the same rules as
 * {@link DTypes}. bf16 is the top half of an f32, so a vector of it widens with a 16-bit shift. The Vector API has no f16 conversion, but
 * C2 compiles a plain loop over {@link Float#float16ToFloat} into vector conversions (vcvtph2ps), several
 * times faster than rebuilding the exponent with vector integer arithmetic. Quantized blocks are decoded in
 * registers by {@link Dequantize}: the kernels widen them a chunk at a time, as F16, so that the weights stay
 * quantized in memory and only an L1-sized piece exists as f32.
 */
public final class Widen {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    private Widen() {}

    /**
     * Writes row {@code row} of the matrix {@code w} ({@code w.cols()} elements) as f32 into {@code dst}
     * starting at float index {@code dstIndex}; e.g. an embedding lookup.
     */
    public static void toFloat(Tensor w, int row, MemorySegment dst, long dstIndex) {
        Objects.checkIndex(row, w.rows());
        float[] floats = Scratch.get().row(w.cols());
        widen(w.dtype(), w.data(), (long) row * w.cols(), floats, 0, w.cols());
        MemorySegment.copy(floats, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, dstIndex * Float.BYTES, w.cols());
    }

    /**
     * Elements {@code [srcIndex, srcIndex + len)} of stored data, as f32 at {@code dst[dstIndex]}. The kernels
     * widen into arrays: vector stores into arrays compile reliably, into heap segments not always.
     */
    static void widen(DType dtype, MemorySegment src, long srcIndex, float[] dst, int dstIndex, int len) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED, srcIndex * Float.BYTES, dst,
                    dstIndex, len);
            case BF16 -> widenBf16(src, srcIndex, dst, dstIndex, len);
            case F16 -> widenF16(src, srcIndex, dst, dstIndex, len);
            case Q8_0, Q4_0, Q4_K, Q6_K -> Dequantize.widen(dtype, src, srcIndex, dst, dstIndex, len);
        }
    }

    /**
     * Elements {@code [index, index + F.length())} of F32 or BF16 data as f32 lanes, for kernels that widen
     * in registers. F16 and quantized data are widened into scratch with {@link #widen} instead.
     */
    static FloatVector load(DType dtype, MemorySegment data, long index) {
        // Tests rather than a switch, whose lookup of the enum's ordinal costs C2 nodes in every inlined copy:
        // the GEMV kernel inlines 8 and ran out of its node budget (NodeCountInliningCutoff) with the switch.
        if (dtype == DType.BF16) {
            return bf16(data, index);
        }
        if (dtype != DType.F32) {
            throw new IllegalArgumentException(dtype + " rows are widened with widen(), not load()");
        }
        return FloatVector.fromMemorySegment(F, data, index * Float.BYTES, LE);
    }

    /** Whether {@link #load} reads this dtype straight into registers. */
    static boolean loadsInRegisters(DType dtype) {
        return dtype == DType.F32 || dtype == DType.BF16;
    }

    /** Elements {@code [index, index + F.length())} of bf16 data as f32 lanes. */
    static FloatVector bf16(MemorySegment data, long index) {
        return ((IntVector) ShortVector.fromMemorySegment(S, data, index * Short.BYTES, LE)
                .convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    private static void widenBf16(MemorySegment src, long srcIndex, float[] dst, int dstIndex, int len) {
        int vectorEnd = len - len % F.length();
        for (int i = 0; i < vectorEnd; i += F.length()) {
            bf16(src, srcIndex + i).intoArray(dst, dstIndex + i);
        }
        for (int i = vectorEnd; i < len; i++) {
            dst[dstIndex + i] = DTypes.bf16ToFloat(src.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, srcIndex + i));
        }
    }

    private static void widenF16(MemorySegment src, long srcIndex, float[] dst, int dstIndex, int len) {
        for (int i = 0; i < len; i++) {
            dst[dstIndex + i] = Float.float16ToFloat(src.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, srcIndex + i));
        }
    }
}
