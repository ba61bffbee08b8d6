package org.flexllm.graph;

import java.util.List;
import org.flexllm.model.LinearWeights;
import org.flexllm.tensor.Tensor;

/** The ops of a LLaMA-family decoder, each lowered onto one or two backend kernels. */
public final class Ops {
    private Ops() {}

    /** {@code out = embed_tokens[token]}. */
    public record Embed(Value out) implements Op {
        public List<Value> reads() { return List.of(); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            s.backend().embed(s.weights().embedTokens(), s.batch().tokens(), s.rows(), s.buffer(out));
        }
    }

    /** Which RMSNorm weight an {@link RmsNorm} op uses. */
    public enum Norm { INPUT, POST_ATTENTION, FINAL }

    /** {@code out = rmsnorm(in) * w}. */
    public record RmsNorm(Norm norm, Value in, Value out) implements Op {
        public List<Value> reads() { return List.of(in); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            Tensor w = switch (norm) {
                case INPUT -> s.layerWeights().inputLayernorm();
                case POST_ATTENTION -> s.layerWeights().postAttentionLayernorm();
                case FINAL -> s.weights().norm();
            };
            s.backend().rmsNorm(s.buffer(in), s.rows(), w, s.config().rmsNormEps(), s.buffer(out));
        }
    }

    /**
     * {@code out = in·Wᵀ + b}, or {@code out += ...} when it feeds the residual stream directly. PEFT bypass
     * ops attach here: they read {@code in} and add into {@code out}.
     */
    public record Linear(Projection projection, Value in, Value out, boolean accumulate) implements Op {
        public List<Value> reads() { return accumulate ? List.of(in, out) : List.of(in); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            LinearWeights w = projection.of(s.layerWeights());
            s.backend().matmul(s.buffer(in), s.rows(), w.weight(), s.buffer(out), accumulate);
            if (w.hasBias()) {
                s.backend().addBias(s.buffer(out), s.rows(), w.bias());
            }
        }
    }

    /** Rotates the heads of {@code x} in place by each token's position. */
    public record Rope(Value x, int heads) implements Op {
        public List<Value> reads() { return List.of(x); }
        public List<Value> writes() { return List.of(x); }

        public void forward(Step s) {
            s.backend().rope(s.buffer(x), s.rows(), heads, s.batch().positions(), s.rope());
        }
    }

    /** Writes this layer's keys and values into the paged KV cache. */
    public record StoreKv(Value k, Value v) implements Op {
        public List<Value> reads() { return List.of(k, v); }
        public List<Value> writes() { return List.of(); }

        public void forward(Step s) {
            s.backend().storeKv(s.buffer(k), s.buffer(v), s.batch().attention(), s.kv().layer(s.layer()));
        }
    }

    /** Causal attention of {@code q} over the cached keys and values of each token's sequence. */
    public record Attention(Value q, Value out) implements Op {
        public List<Value> reads() { return List.of(q); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            s.backend().attention(s.buffer(q), s.batch().attention(), s.kv().layer(s.layer()), s.buffer(out));
        }
    }

    /** {@code out = silu(gate) * up}. */
    public record SwiGlu(Value gate, Value up, Value out) implements Op {
        public List<Value> reads() { return List.of(gate, up); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            s.backend().swiglu(s.buffer(gate), s.buffer(up), s.rows(), out.width(), s.buffer(out));
        }
    }

    /** Keeps only the rows whose next-token logits are wanted; later ops run on those rows. */
    public record SelectLogitRows(Value in, Value out) implements Op {
        public List<Value> reads() { return List.of(in); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            ForwardBatch b = s.batch();
            s.backend().gatherRows(s.buffer(in), b.logitRows(), b.logitCount(), in.width(), s.buffer(out));
            s.narrowTo(b.logitCount());
        }
    }

    /**
     * {@code logits = in·lm_headᵀ}, computed {@code scratch.fixedRows()} rows at a time and handed to the
     * step's sink, so that the vocab-wide logits of a long prompt are never resident at once.
     */
    public record LmHead(Value in, Value scratch) implements Op {
        public List<Value> reads() { return List.of(in); }
        public List<Value> writes() { return List.of(scratch); }

        public void forward(Step s) {
            int vocab = scratch.width();
            float[] row = s.hostRow();
            for (int first = 0; first < s.rows(); first += scratch.fixedRows()) {
                int count = Math.min(scratch.fixedRows(), s.rows() - first);
                var x = s.buffer(in).asSlice((long) first * in.width() * Float.BYTES);
                s.backend().matmul(x, count, s.weights().lmHead(), s.buffer(scratch), false);
                for (int r = 0; r < count; r++) {
                    s.backend().copyToHost(s.buffer(scratch).asSlice((long) r * vocab * Float.BYTES), row, vocab);
                    s.sink().accept(first + r, row);
                }
            }
        }
    }
}
