package org.flexllm.peft.bypass;

import static org.flexllm.peft.bypass.LoraShrink.rows;

import java.util.List;
import org.flexllm.graph.Op;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Step;
import org.flexllm.graph.Value;

/**
 * IA3 at one projection: {@code x ⊙= l} in place, per adapter segment, where {@code x} is the projection's
 * output (or its input, for a feed-forward module). Its input is recomputed for the backward, not kept.
 */
public record Ia3Scale(Projection projection, Value x, ResidentAdapters slots) implements Op {
    public List<Value> reads() { return List.of(x); }
    public List<Value> writes() { return List.of(x); }
    public List<Value> saves() { return List.of(x); }
    public String label() { return "Ia3Scale(" + projection.moduleName() + ")"; }

    public void forward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof Ia3Bypass w) {
                s.backend().mulRows(rows(s.buffer(x), x, first), count, x.width(), w.l().value());
            }
        });
    }

    /** {@code dl += Σ dy ⊙ x}, then {@code dx = dy ⊙ l}. */
    public void backward(Step s) {
        s.forEachAdapterSegment((adapter, first, count) -> {
            if (slots.at(adapter, s.layer(), projection) instanceof Ia3Bypass w) {
                var dy = rows(s.grad(x), x, first);
                s.backend().mulRowsScaleGrad(dy, rows(s.saved(x), x, first), count, x.width(), w.l().grad());
                s.backend().mulRows(dy, count, x.width(), w.l().value());
            }
        });
    }
}
