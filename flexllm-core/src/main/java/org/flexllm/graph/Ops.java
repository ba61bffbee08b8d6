package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.model.LinearWeights;
import org.flexllm.tensor.Tensor;

/**
 * The ops of a LLaMA-family decoder, each lowered onto one or two backend kernels, forward and backward. The
 * base model is frozen: backward passes compute input gradients only.
 */
public final class Ops {
    private Ops() {}

    /** {@code out = embed_tokens[token]}. */
    public record Embed(Value out) implements Op {
        public List<Value> reads() { return List.of(); }
        public List<Value> writes() { return List.of(out); }

        public void forward(Step s) {
            s.backend().embed(s.weights().embedTokens(), s.batch().tokens(), s.rows(), s.buffer(out));
        }

        /** The embeddings are frozen and nothing precedes them. */
        public void backward(Step s) {}
    }

    /** Which RMSNorm weight an {@link RmsNorm} op uses. */
    public enum Norm { INPUT, POST_ATTENTION, FINAL }

    /** {@code out = rmsnorm(in) * w}; keeps its input for the backward. */
    public record RmsNorm(Norm norm, Value in, Value out) implements Op {
        public List<Value> reads() { return List.of(in); }
        public List<Value> writes() { return List.of(out); }
        public List<Value> saves() { return List.of(in); }
        public List<Value> keeps() { return List.of(in); }
        public String label() { return "RmsNorm(" + norm + ")"; }

        public void forward(Step s) {
            s.backend().rmsNorm(s.buffer(in), s.rows(), weight(s), s.config().rmsNormEps(), s.buffer(out));
        }

        public void backward(Step s) {
            s.backend().rmsNormBackward(s.saved(in), s.grad(out), s.rows(), weight(s), s.config().rmsNormEps(),
                    s.grad(in));
        }

        private Tensor weight(Step s) {
            return switch (norm) {
                case INPUT -> s.layerWeights().inputLayernorm();
                case POST_ATTENTION -> s.layerWeights().postAttentionLayernorm();
                case FINAL -> s.weights().norm();
            };
        }
    }

    /**
     * {@code out = in·Wᵀ + b}, or {@code out += ...} when it feeds the residual stream directly. PEFT bypass
     * ops attach here: they read {@code in} and add into {@code out}. Frozen: its backward needs nothing kept.
     */
    public record Linear(Projection projection, Value in, Value out, boolean accumulate) implements Op {
        public List<Value> reads() { return accumulate ? List.of(in, out) : List.of(in); }
        public List<Value> writes() { return List.of(out); }
        public String label() { return "Linear(" + projection.moduleName() + ")"; }

        public void forward(Step s) {
            LinearWeights w = projection.of(s.layerWeights());
            s.backend().matmul(s.buffer(in), s.rows(), w.weight(), s.buffer(out), accumulate);
            if (w.hasBias()) {
                s.backend().addBias(s.buffer(out), s.rows(), w.bias());
            }
        }

        /** {@code dIn += dOut·W}; a residual {@code out} passes its gradient on unchanged. */
        public void backward(Step s) {
            s.backend().matmulTransposed(s.grad(out), s.rows(), projection.of(s.layerWeights()).weight(),
                    s.grad(in), true);
        }
    }

    /** Rotates the heads of {@code x} in place by each token's position. */
    public record Rope(Value x, int heads) implements Op {
        public List<Value> reads() { return List.of(x); }
        public List<Value> writes() { return List.of(x); }

        public void forward(Step s) {
            s.backend().rope(s.buffer(x), s.rows(), heads, s.batch().positions(), s.rope());
        }

        /** A rotation's transpose is the rotation back. */
        public void backward(Step s) {
            s.backend().ropeBackward(s.grad(x), s.rows(), heads, s.batch().positions(), s.rope());
        }
    }

    /**
     * Writes this layer's keys and values into the paged KV cache. Gradients flow back through the cache the
     * same way: attention's backward leaves the keys' and values' gradients in {@link Step#kvGrads}.
     */
    public record StoreKv(Value k, Value v) implements Op {
        public List<Value> reads() { return List.of(k, v); }
        public List<Value> writes() { return List.of(); }

        public void forward(Step s) {
            s.backend().storeKv(s.buffer(k), s.buffer(v), s.batch().attention(), s.kv().layer(s.layer()));
        }

        /** The rows' keys and values are complete: every query that sees them has run its backward. */
        public void backward(Step s) {
            long floats = (long) s.rows() * k.width();
            long from = (long) s.training().firstPosition() * k.width() * Float.BYTES;
            s.backend().axpy(1f, s.kvGrads().keys().asSlice(from), s.grad(k), floats);
            s.backend().axpy(1f, s.kvGrads().values().asSlice(from), s.grad(v), floats);
        }
    }

    /**
     * Causal attention of {@code q} over the cached keys and values of each token's sequence. Keeps only
     * {@code q}: the keys and values are read back from the cache and the softmax is recomputed.
     */
    public record Attention(Value q, Value out) implements Op {
        public List<Value> reads() { return List.of(q); }
        public List<Value> writes() { return List.of(out); }
        public List<Value> saves() { return List.of(q); }
        public List<Value> keeps() { return List.of(q); }

        public void forward(Step s) {
            s.backend().attention(s.buffer(q), s.batch().attention(), s.kv().layer(s.layer()), s.buffer(out));
        }

        /** Writes {@code dq} (the rotated q has no other reader) and adds to the cache's key and value gradients. */
        public void backward(Step s) {
            s.backend().attentionBackward(s.saved(q), s.grad(out), s.batch().attention(), s.kv().layer(s.layer()),
                    s.grad(q), s.kvGrads().keys(), s.kvGrads().values());
        }
    }

    /** {@code out = silu(gate) * up}; its inputs are cheaper to recompute than to keep. */
    public record SwiGlu(Value gate, Value up, Value out) implements Op {
        public List<Value> reads() { return List.of(gate, up); }
        public List<Value> writes() { return List.of(out); }
        public List<Value> saves() { return List.of(gate, up); }

        public void forward(Step s) {
            s.backend().swiglu(s.buffer(gate), s.buffer(up), s.rows(), out.width(), s.buffer(out));
        }

        /** Writes {@code dGate} and {@code dUp}: this op is the only reader of both. */
        public void backward(Step s) {
            s.backend().swigluBackward(s.saved(gate), s.saved(up), s.grad(out), s.rows(), out.width(),
                    s.grad(gate), s.grad(up));
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

        /** Scatters the selected rows' gradients back to their batch rows. */
        public void backward(Step s) {
            long width = in.width();
            for (int r = 0; r < s.rows(); r++) {
                var row = s.grad(out).asSlice(r * width * Float.BYTES, width * Float.BYTES);
                s.backend().axpy(1f, row, s.grad(in).asSlice(s.batch().logitRows()[r] * width * Float.BYTES), width);
            }
        }
    }

    /**
     * {@code logits = in·lm_headᵀ}, computed {@code scratch.fixedRows()} rows at a time, so that the
     * vocab-wide logits of a long prompt are never resident at once. Rows without a training target go to the
     * step's sink; rows with one are turned into the cross-entropy's gradient on the spot and multiplied back
     * through lm_head into {@code in}'s gradient: the logits are the largest activation and are never kept.
     */
    public record LmHead(Value in, Value scratch) implements Op {
        public List<Value> reads() { return List.of(in); }
        public List<Value> writes() { return List.of(scratch); }

        public void forward(Step s) {
            for (int first = 0; first < s.rows(); first += scratch.fixedRows()) {
                int count = Math.min(scratch.fixedRows(), s.rows() - first);
                var x = s.buffer(in).asSlice((long) first * in.width() * Float.BYTES);
                s.backend().matmul(x, count, s.weights().lmHead(), s.buffer(scratch), false);
                int[] targets = s.chunkTargets(first, count);
                sinkInferenceRows(s, first, count, targets);
                if (s.training() != null) {
                    lossGradient(s, first, count, targets);
                }
            }
        }

        private void sinkInferenceRows(Step s, int first, int count, int[] targets) {
            sinkRows(s, s.buffer(scratch), scratch.width(), first, count, targets);
        }

        /**
         * Hands the sink the logits ({@code [count, vocab]}) of logit rows {@code [first, first + count)} that have
         * no training target: shared with the vocabulary-parallel lm_head, which gathers whole rows first.
         */
        public static void sinkRows(Step s, MemorySegment logits, int vocab, int first, int count, int[] targets) {
            float[] row = s.hostRow();
            for (int r = 0; r < count; r++) {
                if (targets[r] < 0) {
                    s.backend().copyToHost(logits.asSlice((long) r * vocab * Float.BYTES), row, vocab);
                    s.sink().accept(first + r, row);
                }
            }
        }

        /** Turns the chunk's logits into the window's cross-entropy gradient in place, adds their loss, and back. */
        private void lossGradient(Step s, int first, int count, int[] targets) {
            addLoss(s, s.backend().crossEntropy(s.buffer(scratch), count, scratch.width(), targets,
                    s.training().lossWeight()));
            s.backend().matmulTransposed(s.buffer(scratch), count, s.weights().lmHead(),
                    s.grad(in).asSlice((long) first * in.width() * Float.BYTES), false);
        }

        /** Adds a weighted loss to the step's finetuning window: shared with the vocabulary-parallel lm_head. */
        public static void addLoss(Step s, double weightedLoss) {
            s.training().addLoss(weightedLoss);
        }

        /** Done in {@link #forward}, while each chunk's logits were at hand. */
        public void backward(Step s) {}
    }
}
