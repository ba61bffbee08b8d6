package org.flexllm.peft.bypass;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.graph.Op;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Step;
import org.flexllm.graph.Value;

/**
 * LoRA's first half at one projection: {@code xa = x·Aᵀ}, per adapter segment of the batch. {@code xa} has
 * room for the largest rank; a segment of rank r uses the first r floats of its rows. Its input is recomputed
 * for the backward rather than kept (it is a norm's or another op's output).
 */
public record LoraShrink(Projection projection, Value in, Value xa, ResidentAdapters slots) implements Op {
    public List<Value> reads() { return List.of(in); }
    public List<Value> writes() { return List.of(xa); }
    public List<Value> saves() { return List.of(in); }
    public String label() { return "LoraShrink(" + projection.moduleName() + ")"; }

    public void forward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof LoraBypass w) {
                MemorySegment compact = s.temp(0);
                s.backend().matmul(rows(s.buffer(in), in, first), count, w.a(), compact, false);
                s.backend().copyRows(compact, w.rank(), rows(s.buffer(xa), xa, first), xa.width(), count, w.rank());
            }
        });
    }

    /** {@code dA += dxaᵀ·x}, {@code dx += dxa·A}. */
    public void backward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof LoraBypass w) {
                MemorySegment dxa = s.temp(0);
                s.backend().copyRows(rows(s.grad(xa), xa, first), xa.width(), dxa, w.rank(), count, w.rank());
                MemorySegment x = rows(s.saved(in), in, first);
                s.backend().matmulWeightGrad(dxa, x, count, w.rank(), in.width(), w.gradA().grad());
                s.backend().matmulTransposed(dxa, count, w.a(), rows(s.grad(in), in, first), true);
            }
        });
    }

    /** {@code v}'s rows from {@code first} on, in a buffer laid out like {@code v}. */
    static MemorySegment rows(MemorySegment buffer, Value v, int first) {
        return buffer.asSlice((long) first * v.width() * Float.BYTES);
    }
}
