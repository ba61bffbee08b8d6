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

    /** Causal attention of each token's queries over its sequence's cached keys and values. */
    void attention(MemorySegment q, AttentionBatch batch, KvLayer layer, MemorySegment out);

    /** {@code out = silu(gate) * up}, elementwise over {@code [n, width]}. */
    void swiglu(MemorySegment gate, MemorySegment up, int n, int width, MemorySegment out);

    /** Copies the listed rows of {@code x} ({@code [*, width]}) to the first rows of {@code out}. */
    void gatherRows(MemorySegment x, int[] rows, int count, int width, MemorySegment out);

    /** Copies {@code count} floats device → host (logits to the sampler). */
    void copyToHost(MemorySegment src, float[] dst, int count);

    @Override
    void close();
}
