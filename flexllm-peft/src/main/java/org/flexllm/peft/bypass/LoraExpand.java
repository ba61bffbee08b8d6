package org.flexllm.peft.bypass;

import static org.flexllm.peft.bypass.LoraShrink.rows;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.graph.Op;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Step;
import org.flexllm.graph.Value;

/**
 * LoRA's second half at one projection: {@code out += scale · xa·Bᵀ}, per adapter segment. Keeps {@code xa}
 * (r floats per token) for the backward.
 */
public record LoraExpand(Projection projection, Value xa, Value out, ResidentAdapters slots) implements Op {
    public List<Value> reads() { return List.of(xa, out); }
    public List<Value> writes() { return List.of(out); }
    public List<Value> saves() { return List.of(xa); }
    public List<Value> keeps() { return List.of(xa); }
    public String label() { return "LoraExpand(" + projection.moduleName() + ")"; }

    public void forward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof LoraBypass w) {
                MemorySegment compact = s.temp(0);
                MemorySegment product = s.temp(1);
                s.backend().copyRows(rows(s.buffer(xa), xa, first), xa.width(), compact, w.rank(), count, w.rank());
                s.backend().matmul(compact, count, w.b(), product, false);
                s.backend().axpy(w.scale(), product, rows(s.buffer(out), out, first), (long) count * out.width());
            }
        });
    }

    /** With {@code g = scale·dout}: {@code dB += gᵀ·xa}, {@code dxa = g·B}; {@code out}'s gradient passes on unchanged. */
    public void backward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof LoraBypass w) {
                MemorySegment g = s.temp(1);
                MemorySegment compact = s.temp(0);
                long floats = (long) count * out.width();
                s.backend().zero(g, floats);
                s.backend().axpy(w.scale(), rows(s.grad(out), out, first), g, floats);
                s.backend().copyRows(rows(s.saved(xa), xa, first), xa.width(), compact, w.rank(), count, w.rank());
                s.backend().matmulWeightGrad(g, compact, count, out.width(), w.rank(), w.gradB().grad());
                s.backend().matmulTransposed(g, count, w.b(), compact, false);
                s.backend().copyRows(compact, w.rank(), rows(s.grad(xa), xa, first), xa.width(), count, w.rank());
            }
        });
    }
}
