package org.flexllm.peft.bypass;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.graph.Op;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Step;
import org.flexllm.graph.TrainingWindow;
import org.flexllm.graph.Value;

/**
 * LoRA's first half at one projection: {@code xa = dropout(x)·Aᵀ}, per adapter segment of the batch, with
 * dropout only on the rows of a finetuning window. {@code xa} has room for the largest rank; a segment of rank r
 * uses the first r floats of its rows. Its input is recomputed for the backward rather than kept (it is a norm's
 * or another op's output), and so is the dropout mask (from the sequence's seed and each token's position).
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
                MemorySegment x = input(s, w, rows(s.buffer(in), in, first), first, count);
                s.backend().matmul(x, count, w.a(), compact, false);
                s.backend().copyRows(compact, w.rank(), rows(s.buffer(xa), xa, first), xa.width(), count, w.rank());
            }
        });
    }

    /** {@code dA += dxaᵀ·dropout(x)}, {@code dx += dropout'(dxa·A)} (the same mask, as dropout is linear). */
    public void backward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof LoraBypass w) {
                MemorySegment dxa = s.temp(0);
                s.backend().copyRows(rows(s.grad(xa), xa, first), xa.width(), dxa, w.rank(), count, w.rank());
                MemorySegment x = input(s, w, rows(s.saved(in), in, first), first, count);
                s.backend().matmulWeightGrad(dxa, x, count, w.rank(), in.width(), w.gradA().grad());
                MemorySegment dx = rows(s.grad(in), in, first);
                if (dropsOut(s, w, first)) {
                    MemorySegment product = s.temp(1);
                    s.backend().matmulTransposed(dxa, count, w.a(), product, false);
                    dropout(s, w, product, first, count, product);
                    s.backend().axpy(1f, product, dx, (long) count * in.width());
                } else {
                    s.backend().matmulTransposed(dxa, count, w.a(), dx, true);
                }
            }
        });
    }

    /** The rows A multiplies: {@code x} itself, or its dropped-out copy in scratch 1 while training. */
    private MemorySegment input(Step s, LoraBypass w, MemorySegment x, int first, int count) {
        if (!dropsOut(s, w, first)) {
            return x;
        }
        dropout(s, w, x, first, count, s.temp(1));
        return s.temp(1);
    }

    private boolean dropsOut(Step s, LoraBypass w, int first) {
        TrainingWindow t = s.training();
        return w.dropout() > 0 && t != null && t.sequence().dropsOut() && first >= t.firstRow()
                && first < t.firstRow() + t.count();
    }

    /** Each (sequence, layer, projection) draws its own mask. */
    private void dropout(Step s, LoraBypass w, MemorySegment x, int first, int count, MemorySegment out) {
        long seed = s.training().sequence().seed() ^ (long) s.layer() << 40 ^ (long) projection.ordinal() << 56;
        s.backend().dropout(x, count, in.width(), w.dropout(), seed, s.batch().positions(), first, w.firstInput(),
                out);
    }

    /** {@code v}'s rows from {@code first} on, in a buffer laid out like {@code v}. */
    static MemorySegment rows(MemorySegment buffer, Value v, int first) {
        return buffer.asSlice((long) first * v.width() * Float.BYTES);
    }
}
