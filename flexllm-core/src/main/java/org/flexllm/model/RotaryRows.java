package org.flexllm.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flexllm.tensor.Tensor;

/**
 * The two row orders of a query or key projection. Hugging Face's rotary embedding pairs dimension i of a head
 * with dimension i + headDim/2 (rotate_half); llama.cpp's llama layout pairs 2i with 2i + 1, so its converter
 * reorders each head's rows: GGUF row {@code 2i + j} of a head is HF row {@code j·headDim/2 + i}. Our kernels and
 * HF PEFT adapters use HF's order, so GGUF q/k rows are put back on load (a copy: a row permutation is not a view
 * of the mapping) and reordered again when writing GGUF. Rows move whole, so any dtype, quantized ones too.
 */
final class RotaryRows {
    private RotaryRows() {}

    /** {@code t} (GGUF order, {@code heads} heads of rows) in HF order, copied into {@code arena}. */
    static Tensor toHuggingFace(Tensor t, int heads, Arena arena) {
        return permute(t, heads, true, arena);
    }

    /** {@code t} (HF order) in GGUF's order, copied into {@code arena}. */
    static Tensor toGguf(Tensor t, int heads, Arena arena) {
        return permute(t, heads, false, arena);
    }

    private static Tensor permute(Tensor t, int heads, boolean toHf, Arena arena) {
        int rows = Math.toIntExact(t.shape().dim(0));
        long rowBytes = t.data().byteSize() / rows;
        int headDim = rows / heads;
        int half = headDim / 2;
        MemorySegment out = arena.allocate(t.data().byteSize(), 64);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    long gguf = (long) h * headDim + 2L * i + j;
                    long hf = (long) h * headDim + (long) j * half + i;
                    long from = toHf ? gguf : hf;
                    long to = toHf ? hf : gguf;
                    MemorySegment.copy(t.data(), from * rowBytes, out, to * rowBytes, rowBytes);
                }
            }
        }
        return new Tensor(t.name(), t.dtype(), t.shape(), out);
    }
}
