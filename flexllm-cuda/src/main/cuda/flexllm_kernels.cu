// FlexLLM's device kernels: the forward pass's non-GEMM ops (the GEMMs go to cuBLAS), compiled by nvcc into
// one fatbin that the Java side loads with cuModuleLoadData and launches by name (extern "C": no mangling).
// Layouts match the CPU backend: activations row-major f32, [tokens, width]; the paged KV cache per layer
// [slots, kvDim] f32, slot = block * blockSize + offset. The per-element math is flexllm_math.cuh's, shared with
// the host build the tests compare with the CPU backend; the kernels here add the threads and reductions.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math_constants.h>

#include "flexllm_math.cuh"

namespace {

// Sum over a block of up to 1024 threads; every thread gets the total.
__device__ float block_sum(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? partial[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    return v;
}

__device__ float block_max(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? partial[lane] : -CUDART_INF_F;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    return v;
}

}  // namespace

extern "C" {

// out[t] = x[t] / rms(x[t]) * weight; one block per row.
__global__ void flexllm_rms_norm(const float* x, const float* weight, float* out, int width, float eps) {
    const float* row = x + (size_t) blockIdx.x * width;
    float squares = 0.f;
    for (int i = threadIdx.x; i < width; i += blockDim.x) squares += row[i] * row[i];
    float scale = flexllm::rms_scale(block_sum(squares), width, eps);
    float* dst = out + (size_t) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) dst[i] = flexllm::rms_norm(row[i], scale, weight[i]);
}

// dx[t] += the gradient of rms_norm given dy[t]; one block per row.
__global__ void flexllm_rms_norm_backward(const float* x, const float* dy, const float* weight, float* dx, int width,
                                          float eps) {
    size_t off = (size_t) blockIdx.x * width;
    float squares = 0.f, dot = 0.f;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        squares += x[off + i] * x[off + i];
        dot += dy[off + i] * weight[i] * x[off + i];
    }
    float scale = flexllm::rms_scale(block_sum(squares), width, eps);
    float weightedDot = block_sum(dot);
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        dx[off + i] += flexllm::rms_norm_backward(x[off + i], dy[off + i], weight[i], scale, weightedDot, width);
    }
}

// out = silu(gate) * up, elementwise over n values.
__global__ void flexllm_swiglu(const float* gate, const float* up, float* out, long n) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        out[i] = flexllm::swiglu(gate[i], up[i]);
    }
}

// dGate, dUp of swiglu given dOut, elementwise over n values.
__global__ void flexllm_swiglu_backward(const float* gate, const float* up, const float* dOut, float* dGate,
                                        float* dUp, long n) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        flexllm::Pair d = flexllm::swiglu_backward(gate[i], up[i], dOut[i]);
        dGate[i] = d.first;
        dUp[i] = d.second;
    }
}

// RoPE, rotate_half layout: dimension i of a head turns with i + half. One block per token, threads over
// (head, i). cos/sin tables are [position, half]; direction -1 turns back (the backward pass).
__global__ void flexllm_rope(float* x, const int* positions, const float* cos, const float* sin, int heads,
                             int half, float direction) {
    float* row = x + (size_t) blockIdx.x * heads * 2 * half;
    const float* c = cos + (size_t) positions[blockIdx.x] * half;
    const float* s = sin + (size_t) positions[blockIdx.x] * half;
    for (int k = threadIdx.x; k < heads * half; k += blockDim.x) {
        int h = k / half, i = k % half;
        float* head = row + h * 2 * half;
        flexllm::Pair turned = flexllm::rope_rotate(head[i], head[i + half], c[i], s[i] * direction);
        head[i] = turned.first;
        head[i + half] = turned.second;
    }
}

// Embedding lookup from a bf16 (dtype 1), f16 (2) or f32 (0) table; one block per token.
__global__ void flexllm_embed(const void* table, int dtype, const int* ids, float* out, int width) {
    size_t from = (size_t) ids[blockIdx.x] * width;
    float* dst = out + (size_t) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        dst[i] = dtype == 1 ? __bfloat162float(((const __nv_bfloat16*) table)[from + i])
               : dtype == 2 ? __half2float(((const __half*) table)[from + i])
               : ((const float*) table)[from + i];
    }
}

// Writes token t's key and value rows into KV slot slot[t]; one block per token.
__global__ void flexllm_store_kv(const float* k, const float* v, const int* slot, float* keys, float* values,
                                 int kvDim) {
    size_t dst = (size_t) slot[blockIdx.x] * kvDim, src = (size_t) blockIdx.x * kvDim;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        keys[dst + i] = k[src + i];
        values[dst + i] = v[src + i];
    }
}

// Copies KV slot from[i] to to[i], in order (a verified tree's accepted path compacted into place); one block.
__global__ void flexllm_copy_kv(const int* from, const int* to, int count, float* keys, float* values, int kvDim) {
    for (int i = 0; i < count; i++) {
        size_t src = (size_t) from[i] * kvDim, dst = (size_t) to[i] * kvDim;
        for (int j = threadIdx.x; j < kvDim; j += blockDim.x) {
            keys[dst + j] = keys[src + j];
            values[dst + j] = values[src + j];
        }
        __syncthreads();
    }
}

// Paged attention, one block per (token, query head): softmax(q·kᵀ/√d)·v over the positions the token sees:
// [0, visible) of its sequence, minus tree positions [treeStart, visible) that are not its ancestors.
// scores is scratch of [tokens * heads, maxVisible] floats.
__global__ void flexllm_attention(const float* q, const float* keys, const float* values, const int* sequence,
                                  const int* visible, const int* treeStart, const unsigned long long* ancestors,
                                  const int* blockTables, int tableWidth, int blockSize, int heads, int kvHeads,
                                  int headDim, float* scores, int maxVisible, float* out) {
    int t = blockIdx.x / heads, h = blockIdx.x % heads;
    int g = h / (heads / kvHeads), kvDim = kvHeads * headDim;
    const float* query = q + ((size_t) t * heads + h) * headDim;
    const int* table = blockTables + (size_t) sequence[t] * tableWidth;
    int seen = visible[t], start = treeStart[t];
    float* score = scores + (size_t) blockIdx.x * maxVisible;
    float scale = rsqrtf((float) headDim);
    float localMax = -CUDART_INF_F;
    for (int j = threadIdx.x; j < seen; j += blockDim.x) {
        bool attends = j < start || ((ancestors[t] >> (j - start)) & 1ull);
        float s = -CUDART_INF_F;
        if (attends) {
            const float* key = keys + ((size_t) table[j / blockSize] * blockSize + j % blockSize) * kvDim
                    + g * headDim;
            s = 0.f;
            for (int d = 0; d < headDim; d++) s += query[d] * key[d];
            s *= scale;
        }
        score[j] = s;
        localMax = fmaxf(localMax, s);
    }
    float max = block_max(localMax);
    float localSum = 0.f;
    for (int j = threadIdx.x; j < seen; j += blockDim.x) {
        float e = flexllm::softmax_weight(score[j], max);
        score[j] = e;
        localSum += e;
    }
    float inverse = 1.f / block_sum(localSum);
    float* dst = out + ((size_t) t * heads + h) * headDim;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float acc = 0.f;
        for (int j = 0; j < seen; j++) {
            if (score[j] != 0.f) {
                acc += score[j] * values[((size_t) table[j / blockSize] * blockSize + j % blockSize) * kvDim
                        + g * headDim + d];
            }
        }
        dst[d] = acc * inverse;
    }
}

// Attention's backward, first kernel, for a run of one sequence's n queries at positions [first, first + n) (the
// CPU backend's attentionBackward): one block per (query, head) recomputes its softmax P over the positions it sees,
// dS_j = P_j·(dO·v_j − Σ_i P_i·dO·v_i)/√d, and writes dq = Σ_j dS_j·k_j; P and dS go to scratch ([n·heads, first + n])
// for the second kernel. Sums in a fixed order, no atomics: the same bits every run.
__global__ void flexllm_attention_backward_query(const float* q, const float* dOut, const float* keys,
                                                 const float* values, const int* table, int blockSize, int first,
                                                 int heads, int kvHeads, int headDim, float* dq, float* p, float* ds) {
    int t = blockIdx.x / heads, h = blockIdx.x % heads;
    int g = h / (heads / kvHeads), kvDim = kvHeads * headDim, width = first + gridDim.x / heads, seen = first + t + 1;
    const float* query = q + (size_t) blockIdx.x * headDim;
    const float* dO = dOut + (size_t) blockIdx.x * headDim;
    float* pr = p + (size_t) blockIdx.x * width;
    float* dsr = ds + (size_t) blockIdx.x * width;
    float scale = rsqrtf((float) headDim);
    float localMax = -CUDART_INF_F;
    for (int j = threadIdx.x; j < width; j += blockDim.x) {
        float s = -CUDART_INF_F;
        if (j < seen) {
            const float* key = keys + ((size_t) table[j / blockSize] * blockSize + j % blockSize) * kvDim + g * headDim;
            s = 0.f;
            for (int d = 0; d < headDim; d++) s += query[d] * key[d];
            s *= scale;
        }
        pr[j] = s;
        localMax = fmaxf(localMax, s);
    }
    float max = block_max(localMax);
    float localSum = 0.f;
    for (int j = threadIdx.x; j < width; j += blockDim.x) {
        pr[j] = flexllm::softmax_weight(pr[j], max);
        localSum += pr[j];
    }
    float inverse = 1.f / block_sum(localSum);
    float localRowsum = 0.f;
    for (int j = threadIdx.x; j < width; j += blockDim.x) {
        float dp = 0.f;
        if (j < seen) {
            const float* value = values + ((size_t) table[j / blockSize] * blockSize + j % blockSize) * kvDim
                    + g * headDim;
            for (int d = 0; d < headDim; d++) dp += dO[d] * value[d];
        }
        pr[j] *= inverse;
        dsr[j] = dp;
        localRowsum += pr[j] * dp;
    }
    float rowsum = block_sum(localRowsum);
    for (int j = threadIdx.x; j < width; j += blockDim.x) {
        dsr[j] = j < seen ? flexllm::attention_score_grad(pr[j], dsr[j], rowsum, scale) : 0.f;
    }
    __syncthreads();
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float acc = 0.f;
        for (int j = 0; j < seen; j++) {
            acc += dsr[j] * keys[((size_t) table[j / blockSize] * blockSize + j % blockSize) * kvDim + g * headDim + d];
        }
        dq[(size_t) blockIdx.x * headDim + d] = acc;
    }
}

// Attention's backward, second kernel: one block per (key position j, kv head g), a thread per dimension, adds
// dK_j += Σ_t Σ_h dS[t, h, j]·q[t, h] and dV_j += Σ_t Σ_h P[t, h, j]·dO[t, h] over the run's queries that see j and
// the group's heads, in that order.
__global__ void flexllm_attention_backward_kv(const float* q, const float* dOut, const float* p, const float* ds,
                                              int first, int n, int heads, int kvHeads, int headDim, float* dKeys,
                                              float* dValues) {
    int j = blockIdx.x / kvHeads, g = blockIdx.x % kvHeads, group = heads / kvHeads, width = first + n;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float dk = 0.f, dv = 0.f;
        for (int t = j > first ? j - first : 0; t < n; t++) {
            for (int h = g * group; h < (g + 1) * group; h++) {
                size_t row = (size_t) t * heads + h;
                dk += ds[row * width + j] * q[row * headDim + d];
                dv += p[row * width + j] * dOut[row * headDim + d];
            }
        }
        dKeys[(size_t) j * kvHeads * headDim + g * headDim + d] += dk;
        dValues[(size_t) j * kvHeads * headDim + g * headDim + d] += dv;
    }
}

// y[t] += bias; one block per row.
__global__ void flexllm_add_bias(float* y, const float* bias, int width) {
    float* row = y + (size_t) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) row[i] += bias[i];
}

// Cross-entropy of each row of logits in place: row r becomes weight·(softmax − onehot(targets[r])), the gradient
// of weight·CE, and losses[r] = weight·CE; a row whose target is negative is zeroed. One block per row.
__global__ void flexllm_cross_entropy(float* logits, int vocab, const int* targets, float weight, float* losses) {
    float* row = logits + (size_t) blockIdx.x * vocab;
    int target = targets[blockIdx.x];
    if (target < 0) {
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) row[i] = 0.f;
        if (threadIdx.x == 0) losses[blockIdx.x] = 0.f;
        return;
    }
    float localMax = -CUDART_INF_F;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) localMax = fmaxf(localMax, row[i]);
    float max = block_max(localMax);
    float localSum = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) localSum += flexllm::softmax_weight(row[i], max);
    float sum = block_sum(localSum);
    float picked = row[target];
    __syncthreads();  // every thread has read row[target] before it is overwritten
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        row[i] = flexllm::cross_entropy_grad(row[i], max, sum, i == target, weight);
    }
    if (threadIdx.x == 0) losses[blockIdx.x] = flexllm::cross_entropy_loss(picked, max, sum, weight);
}

// One AdamW step over n parameters: value, first and second moments updated in place from the gradient.
__global__ void flexllm_adamw(float* value, const float* grad, float* m, float* v, long n, flexllm::AdamWStep step) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        flexllm::AdamWState s = flexllm::adamw({value[i], m[i], v[i]}, grad[i], step);
        value[i] = s.value;
        m[i] = s.m;
        v[i] = s.v;
    }
}

// The first half of the vocabulary-parallel cross-entropy (see flexllm_math.cuh): each row of this rank's shard
// (width columns, the first `valid` real, vocabulary column `first` at column 0) into its softmax in place, and
// stats[r] = the shard's log-sum-exp (a float and its remainder's) and the target's logit where the shard holds it.
// One block per row.
__global__ void flexllm_shard_softmax(float* logits, int width, int valid, int first, const int* targets,
                                      float* stats) {
    float* row = logits + (size_t) blockIdx.x * width;
    int target = targets[blockIdx.x];
    int column = target - first;
    float picked = target >= 0 && column >= 0 && column < valid ? row[column] : 0.f;
    float localMax = -CUDART_INF_F;
    for (int i = threadIdx.x; i < valid; i += blockDim.x) localMax = fmaxf(localMax, row[i]);
    float max = block_max(localMax);
    float localSum = 0.f;
    for (int i = threadIdx.x; i < valid; i += blockDim.x) {
        row[i] = flexllm::softmax_weight(row[i], max);
        localSum += row[i];
    }
    float sum = block_sum(localSum);
    float inverse = 1.f / sum;
    for (int i = threadIdx.x; i < valid; i += blockDim.x) row[i] *= inverse;
    if (threadIdx.x == 0) {
        flexllm::Pair lse = flexllm::split_double((double) max + log((double) sum));
        stats[blockIdx.x * 3] = lse.first;
        stats[blockIdx.x * 3 + 1] = lse.second;
        stats[blockIdx.x * 3 + 2] = picked;
    }
}

// The second half, given every rank's stats (gathered: [ranks, rows, 3]): the shard's softmax rows become
// weight·(softmax − onehot(target)) of the whole row, the padding zeroed, losses[r] = weight·(L − target logit);
// rows whose target is negative are zeroed. One block per row.
__global__ void flexllm_shard_cross_entropy(float* logits, int width, int valid, int rank, int ranks, int rows,
                                            const int* targets, const float* gathered, float weight, float* losses) {
    float* row = logits + (size_t) blockIdx.x * width;
    int r = blockIdx.x;
    if (targets[r] < 0) {
        for (int i = threadIdx.x; i < width; i += blockDim.x) row[i] = 0.f;
        if (threadIdx.x == 0) losses[r] = 0.f;
        return;
    }
    double whole = flexllm::whole_log_sum_exp(gathered, ranks, rows, r);
    const float* own = gathered + ((size_t) rank * rows + r) * 3;
    float scale = flexllm::shard_scale((double) own[0] + own[1], whole, weight);
    int column = targets[r] - rank * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        row[i] = i >= valid ? 0.f : row[i] * scale - (i == column ? weight : 0.f);
    }
    if (threadIdx.x == 0) losses[r] = (float) (weight * (whole - flexllm::picked_logit(gathered, ranks, rows, r)));
}

// y += a·x over n floats.
__global__ void flexllm_axpy(float a, const float* x, float* y, long n) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        y[i] = fmaf(a, x[i], y[i]);
    }
}

// x[t, i] *= scale[i] (IA3); one block per row.
__global__ void flexllm_mul_rows(float* x, const float* scale, int width) {
    float* row = x + (size_t) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) row[i] *= scale[i];
}

// dScale[i] += Σ_t dy[t, i]·x[t, i] over n rows, the rows in order; a thread per column.
__global__ void flexllm_mul_rows_scale_grad(const float* dy, const float* x, int n, int width, float* dScale) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < width; i += gridDim.x * blockDim.x) {
        float sum = dScale[i];
        for (int t = 0; t < n; t++) sum = fmaf(dy[(size_t) t * width + i], x[(size_t) t * width + i], sum);
        dScale[i] = sum;
    }
}

// out[j] = x[rows[j]] for j < count rows of width; one block per gathered row.
__global__ void flexllm_gather_rows(const float* x, const int* rows, int width, float* out) {
    const float* from = x + (size_t) rows[blockIdx.x] * width;
    float* to = out + (size_t) blockIdx.x * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) to[i] = from[i];
}

// One SGD step over n parameters (buffer: the momentum buffer, untouched without momentum).
__global__ void flexllm_sgd(float* value, const float* grad, float* buffer, long n, flexllm::SgdStep step) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        flexllm::SgdState s = flexllm::sgd({value[i], buffer[i]}, grad[i], step);
        value[i] = s.value;
        buffer[i] = s.buffer;
    }
}

// Inverted dropout of rows × width values (out may be x), the mask keyed by (seed, positions[firstRow + r],
// firstColumn + c) as on the CPU backend; one block per row.
__global__ void flexllm_dropout(const float* x, float* out, int width, float p, long long seed, const int* positions,
                                int firstRow, int firstColumn) {
    size_t off = (size_t) blockIdx.x * width;
    int position = positions[firstRow + blockIdx.x];
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        out[off + c] = flexllm::dropout(x[off + c], seed, position, firstColumn + c, p);
    }
}

// The argmax of each row of logits (greedy sampling on the device: only the ids go back); one block per row.
__global__ void flexllm_argmax(const float* logits, int vocab, int* ids) {
    const float* row = logits + (size_t) blockIdx.x * vocab;
    float best = -CUDART_INF_F;
    int at = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (row[i] > best) { best = row[i]; at = i; }
    }
    float max = block_max(best);
    __shared__ int winner;
    if (threadIdx.x == 0) winner = vocab;
    __syncthreads();
    if (best == max) atomicMin(&winner, at);
    __syncthreads();
    if (threadIdx.x == 0) ids[blockIdx.x] = winner;
}

}  // extern "C"
