package org.flexllm.backend.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.Backend;
import org.flexllm.backend.KvLayer;
import org.flexllm.backend.VocabShard;
import org.flexllm.model.Rope.RopeTable;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * The reference backend and the embedded default: Vector API kernels over memory segments, both cores.
 * Matrices are used where they are mapped, in their stored dtype; vectors (norm weights, biases) are widened
 * to f32 once, since they are tiny and read on every token.
 */
public final class CpuBackend implements Backend {
    private final Arena arena = Arena.ofShared();

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public MemorySegment allocate(long floats) {
        return arena.allocate(floats * Float.BYTES, 64);
    }

    @Override
    public Tensor weight(Tensor host) {
        if (host.shape().rank() != 1 || host.dtype() == DType.F32) {
            return host;
        }
        MemorySegment f32 = allocate(host.cols());
        for (int i = 0; i < host.cols(); i++) {
            VectorMath.set(f32, i, host.getFloat(i));
        }
        return new Tensor(host.name(), DType.F32, host.shape(), f32);
    }

    @Override
    public void embed(Tensor table, int[] ids, int n, MemorySegment out) {
        int dim = table.cols();
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                Widen.toFloat(table, ids[t], out, (long) t * dim);
            }
        });
    }

    @Override
    public void rmsNorm(MemorySegment x, int n, Tensor weight, float eps, MemorySegment out) {
        Norms.rmsNorm(x, n, weight.data(), weight.cols(), eps, out);
    }

    @Override
    public void matmul(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        Matmul.matmul(x, n, w, y, accumulate);
    }

    @Override
    public void addBias(MemorySegment y, int n, Tensor bias) {
        int width = bias.cols();
        for (int t = 0; t < n; t++) {
            VectorMath.axpy(1f, bias.data(), 0, y, (long) t * width, width);
        }
    }

    @Override
    public void rope(MemorySegment x, int n, int heads, int[] positions, RopeTable table) {
        Rotary.rope(x, n, heads, positions, table);
    }

    @Override
    public void storeKv(MemorySegment k, MemorySegment v, AttentionBatch batch, KvLayer layer) {
        PagedAttention.storeKv(k, v, batch, layer);
    }

    @Override
    public void copyKv(int[] from, int[] to, int count, KvLayer layer) {
        PagedAttention.copyKv(from, to, count, layer);
    }

    @Override
    public void attention(MemorySegment q, AttentionBatch batch, KvLayer layer, MemorySegment out) {
        BlockedAttention.attention(q, batch, layer, out);
    }

    @Override
    public void swiglu(MemorySegment gate, MemorySegment up, int n, int width, MemorySegment out) {
        Activations.swiglu(gate, up, n, width, out);
    }

    @Override
    public void gatherRows(MemorySegment x, int[] rows, int count, int width, MemorySegment out) {
        long bytes = (long) width * Float.BYTES;
        for (int r = 0; r < count; r++) {
            MemorySegment.copy(x, rows[r] * bytes, out, r * bytes, bytes);
        }
    }

    @Override
    public void matmulTransposed(MemorySegment dy, int n, Tensor w, MemorySegment dx, boolean accumulate) {
        Matmul.transposed(dy, n, w, dx, accumulate);
    }

    @Override
    public void matmulWeightGrad(MemorySegment dy, MemorySegment x, int n, int out, int in, MemorySegment dW) {
        Matmul.weightGradient(dy, x, n, out, in, dW);
    }

    @Override
    public void rmsNormBackward(MemorySegment x, MemorySegment dy, int n, Tensor weight, float eps, MemorySegment dx) {
        Norms.rmsNormBackward(x, dy, n, weight.data(), weight.cols(), eps, dx);
    }

    @Override
    public void ropeBackward(MemorySegment dx, int n, int heads, int[] positions, RopeTable table) {
        Rotary.ropeBackward(dx, n, heads, positions, table);
    }

    @Override
    public void swigluBackward(MemorySegment gate, MemorySegment up, MemorySegment dOut, int n, int width,
                               MemorySegment dGate, MemorySegment dUp) {
        Activations.swigluBackward(gate, up, dOut, n, width, dGate, dUp);
    }

    @Override
    public void attentionBackward(MemorySegment q, MemorySegment dOut, AttentionBatch batch, KvLayer layer,
                                  MemorySegment dq, MemorySegment dKeys, MemorySegment dValues) {
        AttentionBackward.backward(q, dOut, batch, layer, dq, dKeys, dValues);
    }

    @Override
    public double crossEntropy(MemorySegment logits, int rows, int vocab, int[] targets, float weight) {
        return Loss.crossEntropy(logits, rows, vocab, targets, weight);
    }

    @Override
    public void shardSoftmax(MemorySegment logits, int rows, VocabShard shard, int[] targets, MemorySegment stats) {
        ShardLoss.softmax(logits, rows, shard, targets, stats);
    }

    @Override
    public double shardCrossEntropy(MemorySegment logits, int rows, VocabShard shard, int[] targets,
                                    MemorySegment gathered, float weight) {
        return ShardLoss.crossEntropy(logits, rows, shard, targets, gathered, weight);
    }

    @Override
    public void axpy(float a, MemorySegment x, MemorySegment y, long count) {
        Elementwise.axpy(a, x, y, count);
    }

    @Override
    public void mulRows(MemorySegment x, int n, int width, MemorySegment scale) {
        Elementwise.mulRows(x, n, width, scale);
    }

    @Override
    public void mulRowsScaleGrad(MemorySegment dy, MemorySegment x, int n, int width, MemorySegment dScale) {
        Elementwise.mulRowsScaleGrad(dy, x, n, width, dScale);
    }

    @Override
    public void dropout(MemorySegment x, int n, int width, float p, long seed, int[] positions, int firstRow,
                        int firstColumn, MemorySegment out) {
        Dropout.apply(x, n, width, p, seed, positions, firstRow, firstColumn, out);
    }

    @Override
    public void zero(MemorySegment x, long count) {
        x.asSlice(0, count * Float.BYTES).fill((byte) 0);
    }

    @Override
    public void copyRows(MemorySegment src, int srcStride, MemorySegment dst, int dstStride, int rows, int width) {
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(src, r * srcStride * Float.BYTES, dst, r * dstStride * Float.BYTES,
                    (long) width * Float.BYTES);
        }
    }

    @Override
    public void copyToHost(MemorySegment src, float[] dst, int count) {
        MemorySegment.copy(src, JAVA_FLOAT, 0, dst, 0, count);
    }

    @Override
    public void close() {
        arena.close();
    }
}
