package org.flexllm.backend;

import java.lang.foreign.MemorySegment;
import org.flexllm.model.Rope.RopeTable;
import org.flexllm.tensor.Tensor;

/**
 * The primitive kernels the model graph is lowered onto. A backend owns device memory: buffers it
 * allocates are f32 activations laid out {@code [tokens, width]} row-major; weights are {@link Tensor}s made
 * resident by {@link #weight}. Every kernel works on the first {@code n} rows of its buffers, where the rows
 * are the tokens of one iteration's flat batch.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs and the command line ({@code cpu}, {@code cuda}). */
    String name();

    /** A zeroed f32 buffer of {@code floats} elements, freed when the backend closes. */
    MemorySegment allocate(long floats);

    /** The tensor made resident where this backend computes (the CPU computes on the mapping itself). */
    Tensor weight(Tensor host);

    /** {@code out[t] = table[ids[t]]}, widened to f32. */
    void embed(Tensor table, int[] ids, int n, MemorySegment out);

    /** {@code out[t] = x[t] / sqrt(mean(x[t]²) + eps) * weight}. */
    void rmsNorm(MemorySegment x, int n, Tensor weight, float eps, MemorySegment out);

    /** {@code y = x·Wᵀ}, or {@code y += x·Wᵀ} when accumulating (a residual add fused into the GEMM). */
    void matmul(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate);

    /** {@code y[t] += bias}. */
    void addBias(MemorySegment y, int n, Tensor bias);

    /** Rotates each head of {@code x} ({@code [n, heads·headDim]}) by its token's position. */
    void rope(MemorySegment x, int n, int heads, int[] positions, RopeTable table);

    /** Writes the keys and values of the batch's tokens into their KV-cache slots. */
    void storeKv(MemorySegment k, MemorySegment v, AttentionBatch batch, KvLayer layer);

    /**
     * Copies the keys and values of cache slots {@code from[i]} to slots {@code to[i]}, for {@code i < count}, in
     * order: a verified token tree's accepted path is compacted into the positions it now holds.
     */
    void copyKv(int[] from, int[] to, int count, KvLayer layer);

    /** Causal attention of each token's queries over its sequence's cached keys and values. */
    void attention(MemorySegment q, AttentionBatch batch, KvLayer layer, MemorySegment out);

    /** {@code out = silu(gate) * up}, elementwise over {@code [n, width]}. */
    void swiglu(MemorySegment gate, MemorySegment up, int n, int width, MemorySegment out);

    /** Copies the listed rows of {@code x} ({@code [*, width]}) to the first rows of {@code out}. */
    void gatherRows(MemorySegment x, int[] rows, int count, int width, MemorySegment out);

    // ---- Finetuning: the backward kernels and the low-rank bypass kernels. Gradients are f32 buffers laid out
    // like the activations they belong to. "Adds into" means the kernel accumulates; callers zero first.

    /** {@code dx (+)= dy·W}: the gradient through a Linear ({@code dy [n, out]}, {@code W [out, in]}, {@code dx [n, in]}). */
    void matmulTransposed(MemorySegment dy, int n, Tensor w, MemorySegment dx, boolean accumulate);

    /** {@code dW += dyᵀ·x}: a weight's gradient over {@code n} rows ({@code dy [n, out]}, {@code x [n, in]}, {@code dW [out, in]} f32). */
    void matmulWeightGrad(MemorySegment dy, MemorySegment x, int n, int out, int in, MemorySegment dW);

    /** Adds into {@code dx} the gradient of {@link #rmsNorm} with respect to its input {@code x}. */
    void rmsNormBackward(MemorySegment x, MemorySegment dy, int n, Tensor weight, float eps, MemorySegment dx);

    /** Rotates each head back by its token's position: the transpose of {@link #rope}, applied to a gradient. */
    void ropeBackward(MemorySegment dx, int n, int heads, int[] positions, RopeTable table);

    /** Writes {@code dGate}, {@code dUp}: the gradient of {@link #swiglu} given {@code dOut}. */
    void swigluBackward(MemorySegment gate, MemorySegment up, MemorySegment dOut, int n, int width,
                        MemorySegment dGate, MemorySegment dUp);

    /**
     * The gradient of {@link #attention} for a run of one sequence's queries: the batch's {@code n} tokens are
     * positions {@code [first, first + n)} of sequence 0 ({@code first = visible[0] − 1}), whose keys and values
     * (and those of every earlier position) are in the cache. The softmax is recomputed from {@code q} and the
     * cached keys. Writes {@code dq [n, heads·headDim]} and adds the run's contributions into rows
     * {@code [0, first + n)} of {@code dKeys}, {@code dValues} ({@code [·, kvHeads·headDim]}, row = position): run
     * over a sequence's chunks from the last to the first, the rows of a chunk are complete after its own run.
     */
    void attentionBackward(MemorySegment q, MemorySegment dOut, AttentionBatch batch, KvLayer layer,
                           MemorySegment dq, MemorySegment dKeys, MemorySegment dValues);

    /**
     * Causal-LM cross-entropy over {@code rows} rows of logits ({@code [rows, vocab]}), in place: row {@code r}
     * becomes {@code weight·(softmax − onehot(targets[r]))}, the gradient of {@code weight·CE}. Rows whose target is
     * negative are zeroed. Returns {@code Σ weight·CE} over the other rows, in double.
     */
    double crossEntropy(MemorySegment logits, int rows, int vocab, int[] targets, float weight);

    /**
     * The first half of the cross-entropy of rows whose logits are split over tensor-parallel ranks, on this rank's
     * {@code shard} of them ({@code [rows, shard.width()]}): in place, each row's valid columns become their softmax
     * over the shard; row {@code r} of {@code stats} ({@code [rows, VocabShard.STATS]}) gets the shard's log-sum-exp
     * (a float and the float of its remainder) and the logit of {@code targets[r]} where the shard holds it, else 0.
     * The ranks then gather their {@code stats} (three floats a row, not the row) for {@link #shardCrossEntropy}.
     */
    void shardSoftmax(MemorySegment logits, int rows, VocabShard shard, int[] targets, MemorySegment stats);

    /**
     * The second half, given every rank's {@link #shardSoftmax} stats ({@code gathered}:
     * {@code [ranks, rows, VocabShard.STATS]},
     * rank 0's first): with the whole row's log-sum-exp {@code L} (from the ranks', in rank order), row {@code r} of
     * the shard becomes {@code weight·(softmax − onehot(targets[r]))} over the shard's columns of the whole vocabulary
     * (the padding zeroed), the gradient of {@code weight·CE}. Rows whose target is negative are zeroed. Returns
     * {@code Σ weight·(L − logit of the target)} over the other rows, in double: the same on every rank.
     */
    double shardCrossEntropy(MemorySegment logits, int rows, VocabShard shard, int[] targets, MemorySegment gathered,
                             float weight);

    /** {@code y += a·x} over {@code count} floats. */
    void axpy(float a, MemorySegment x, MemorySegment y, long count);

    /** {@code x[t] *= scale} elementwise for each of {@code n} rows ({@code scale} f32, {@code width} floats). */
    void mulRows(MemorySegment x, int n, int width, MemorySegment scale);

    /** {@code dScale += Σ_t dy[t] ⊙ x[t]} over {@code n} rows of {@code width}. */
    void mulRowsScaleGrad(MemorySegment dy, MemorySegment x, int n, int width, MemorySegment dScale);

    /**
     * Inverted dropout: {@code out[r] = x[r] ⊙ keep / (1 − p)}, where each element is dropped with probability
     * {@code p} by a hash of {@code (seed, positions[firstRow + r], firstColumn + c)} for column c of x, so that the
     * backward (and a replay) regenerate the forward's mask from the same keys, and a tensor-parallel rank holding
     * columns from {@code firstColumn} on of a wider input drops what one rank holding all of them would.
     * {@code out} may be {@code x}.
     */
    void dropout(MemorySegment x, int n, int width, float p, long seed, int[] positions, int firstRow,
                 int firstColumn, MemorySegment out);

    /** Sets {@code count} floats to zero. */
    void zero(MemorySegment x, long count);

    /** Copies {@code rows} rows of {@code width} floats between buffers whose rows are {@code srcStride} and {@code dstStride} floats apart. */
    void copyRows(MemorySegment src, int srcStride, MemorySegment dst, int dstStride, int rows, int width);

    /** Copies {@code count} floats device → host (logits to the sampler). */
    void copyToHost(MemorySegment src, float[] dst, int count);

    @Override
    void close();
}
