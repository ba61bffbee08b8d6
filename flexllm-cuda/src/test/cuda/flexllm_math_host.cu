// The kernels' per-element math (flexllm_math.cuh) compiled for the host, over whole buffers with the kernels'
// layouts and argument order, so that KernelMathTest can compare it with the CPU backend through FFM. The loops
// stand where the kernels have threads; the reductions (row sums, maxima) are sequential here.
#include "flexllm_math.cuh"

extern "C" {

void host_rms_norm(const float* x, const float* weight, float* out, int rows, int width, float eps) {
    for (int r = 0; r < rows; r++) {
        const float* row = x + (long) r * width;
        float squares = 0.f;
        for (int i = 0; i < width; i++) squares += row[i] * row[i];
        float scale = flexllm::rms_scale(squares, width, eps);
        for (int i = 0; i < width; i++) out[(long) r * width + i] = flexllm::rms_norm(row[i], scale, weight[i]);
    }
}

void host_rms_norm_backward(const float* x, const float* dy, const float* weight, float* dx, int rows, int width,
                            float eps) {
    for (int r = 0; r < rows; r++) {
        long off = (long) r * width;
        float squares = 0.f, dot = 0.f;
        for (int i = 0; i < width; i++) {
            squares += x[off + i] * x[off + i];
            dot += dy[off + i] * weight[i] * x[off + i];
        }
        float scale = flexllm::rms_scale(squares, width, eps);
        for (int i = 0; i < width; i++) {
            dx[off + i] += flexllm::rms_norm_backward(x[off + i], dy[off + i], weight[i], scale, dot, width);
        }
    }
}

void host_swiglu(const float* gate, const float* up, float* out, long n) {
    for (long i = 0; i < n; i++) out[i] = flexllm::swiglu(gate[i], up[i]);
}

void host_swiglu_backward(const float* gate, const float* up, const float* dOut, float* dGate, float* dUp, long n) {
    for (long i = 0; i < n; i++) {
        flexllm::Pair d = flexllm::swiglu_backward(gate[i], up[i], dOut[i]);
        dGate[i] = d.first;
        dUp[i] = d.second;
    }
}

void host_rope(float* x, const int* positions, const float* cos, const float* sin, int rows, int heads, int half,
               float direction) {
    for (int t = 0; t < rows; t++) {
        const float* c = cos + (long) positions[t] * half;
        const float* s = sin + (long) positions[t] * half;
        for (int h = 0; h < heads; h++) {
            float* head = x + ((long) t * heads + h) * 2 * half;
            for (int i = 0; i < half; i++) {
                flexllm::Pair turned = flexllm::rope_rotate(head[i], head[i + half], c[i], s[i] * direction);
                head[i] = turned.first;
                head[i + half] = turned.second;
            }
        }
    }
}

// Returns Σ weight·CE over the rows, as the CPU backend's crossEntropy does.
double host_cross_entropy(float* logits, int rows, int vocab, const int* targets, float weight) {
    double loss = 0;
    for (int r = 0; r < rows; r++) {
        float* row = logits + (long) r * vocab;
        if (targets[r] < 0) {
            for (int i = 0; i < vocab; i++) row[i] = 0.f;
            continue;
        }
        float max = -INFINITY, sum = 0.f;
        for (int i = 0; i < vocab; i++) max = fmaxf(max, row[i]);
        for (int i = 0; i < vocab; i++) sum += flexllm::softmax_weight(row[i], max);
        loss += flexllm::cross_entropy_loss(row[targets[r]], max, sum, weight);
        for (int i = 0; i < vocab; i++) row[i] = flexllm::cross_entropy_grad(row[i], max, sum, i == targets[r], weight);
    }
    return loss;
}

void host_adamw(float* value, const float* grad, float* m, float* v, long n, float beta1, float beta2, float eps,
                float decay, float stepSize, float rootCorrection) {
    flexllm::AdamWStep step = {beta1, beta2, eps, decay, stepSize, rootCorrection};
    for (long i = 0; i < n; i++) {
        flexllm::AdamWState s = flexllm::adamw({value[i], m[i], v[i]}, grad[i], step);
        value[i] = s.value;
        m[i] = s.m;
        v[i] = s.v;
    }
}

// Rows of a shard (width columns, the first `valid` real, the shard's first vocabulary column `first`) into their
// softmax in place, and their stats (see flexllm_math.cuh).
void host_shard_softmax(float* logits, int rows, int width, int valid, int first, const int* targets, float* stats) {
    for (int r = 0; r < rows; r++) {
        float* row = logits + (long) r * width;
        int column = targets[r] - first;
        float picked = targets[r] >= 0 && column >= 0 && column < valid ? row[column] : 0.f;
        float max = -INFINITY, sum = 0.f;
        for (int i = 0; i < valid; i++) max = fmaxf(max, row[i]);
        for (int i = 0; i < valid; i++) {
            row[i] = flexllm::softmax_weight(row[i], max);
            sum += row[i];
        }
        for (int i = 0; i < valid; i++) row[i] *= 1.f / sum;
        flexllm::Pair lse = flexllm::split_double((double) max + log((double) sum));
        stats[r * 3] = lse.first;
        stats[r * 3 + 1] = lse.second;
        stats[r * 3 + 2] = picked;
    }
}

// The second half on rank `rank`'s shard: its softmax rows become weight·(softmax − onehot) of the whole row.
double host_shard_cross_entropy(float* logits, int rows, int width, int valid, int rank, int ranks, const int* targets,
                                const float* gathered, float weight) {
    double loss = 0;
    int first = rank * width;
    for (int r = 0; r < rows; r++) {
        float* row = logits + (long) r * width;
        if (targets[r] < 0) {
            for (int i = 0; i < width; i++) row[i] = 0.f;
            continue;
        }
        double whole = flexllm::whole_log_sum_exp(gathered, ranks, rows, r);
        const float* own = gathered + ((long) rank * rows + r) * 3;
        float scale = flexllm::shard_scale((double) own[0] + own[1], whole, weight);
        for (int i = 0; i < valid; i++) row[i] *= scale;
        int column = targets[r] - first;
        if (column >= 0 && column < valid) row[column] -= weight;
        for (int i = valid; i < width; i++) row[i] = 0.f;
        loss += weight * (whole - flexllm::picked_logit(gathered, ranks, rows, r));
    }
    return loss;
}

// Attention's backward for a run of one sequence's n queries at positions [first, first + n), as the two device
// kernels compute it: per (query, head) P, dS and dq; then per (key position, kv head) dK and dV summed over the
// queries in order and the group's heads in order. keys/values: the paged cache ([slot, kvDim]); table: the
// sequence's blocks; p and ds: scratch of [n·heads, first + n]. dKeys/dValues ([first + n, kvDim]) are added to.
void host_attention_backward(const float* q, const float* dOut, const float* keys, const float* values,
                             const int* table, int blockSize, int first, int n, int heads, int kvHeads, int headDim,
                             float* dq, float* dKeys, float* dValues, float* p, float* ds) {
    int kvDim = kvHeads * headDim, group = heads / kvHeads, width = first + n;
    float scale = 1.f / sqrtf((float) headDim);
    for (int t = 0; t < n; t++) {
        for (int h = 0; h < heads; h++) {
            const float* query = q + ((long) t * heads + h) * headDim;
            const float* dO = dOut + ((long) t * heads + h) * headDim;
            float* pr = p + ((long) t * heads + h) * width;
            float* dsr = ds + ((long) t * heads + h) * width;
            int g = h / group, seen = first + t + 1;
            float max = -INFINITY, sum = 0.f;
            for (int j = 0; j < seen; j++) {
                const float* key = keys + ((long) table[j / blockSize] * blockSize + j % blockSize) * kvDim + g * headDim;
                float s = 0.f;
                for (int d = 0; d < headDim; d++) s += query[d] * key[d];
                pr[j] = s * scale;
                max = fmaxf(max, pr[j]);
            }
            for (int j = 0; j < seen; j++) {
                pr[j] = flexllm::softmax_weight(pr[j], max);
                sum += pr[j];
            }
            float rowsum = 0.f;
            for (int j = 0; j < seen; j++) {
                pr[j] *= 1.f / sum;
                const float* value = values + ((long) table[j / blockSize] * blockSize + j % blockSize) * kvDim
                        + g * headDim;
                float dp = 0.f;
                for (int d = 0; d < headDim; d++) dp += dO[d] * value[d];
                dsr[j] = dp;
                rowsum += pr[j] * dp;
            }
            for (int j = seen; j < width; j++) pr[j] = dsr[j] = 0.f;
            for (int j = 0; j < seen; j++) dsr[j] = flexllm::attention_score_grad(pr[j], dsr[j], rowsum, scale);
            for (int d = 0; d < headDim; d++) {
                float acc = 0.f;
                for (int j = 0; j < seen; j++) {
                    acc += dsr[j] * keys[((long) table[j / blockSize] * blockSize + j % blockSize) * kvDim + g * headDim + d];
                }
                dq[((long) t * heads + h) * headDim + d] = acc;
            }
        }
    }
    for (int j = 0; j < width; j++) {
        for (int g = 0; g < kvHeads; g++) {
            for (int d = 0; d < headDim; d++) {
                float dk = 0.f, dv = 0.f;
                for (int t = (j > first ? j - first : 0); t < n; t++) {
                    for (int h = g * group; h < (g + 1) * group; h++) {
                        long row = (long) t * heads + h;
                        dk += ds[row * width + j] * q[row * headDim + d];
                        dv += p[row * width + j] * dOut[row * headDim + d];
                    }
                }
                dKeys[(long) j * kvDim + g * headDim + d] += dk;
                dValues[(long) j * kvDim + g * headDim + d] += dv;
            }
        }
    }
}

void host_sgd(float* value, const float* grad, float* buffer, long n, double lr, double momentum,
              double weightDecay, int first) {
    flexllm::SgdStep step = {lr, momentum, weightDecay, first != 0};
    for (long i = 0; i < n; i++) {
        flexllm::SgdState s = flexllm::sgd({value[i], buffer[i]}, grad[i], step);
        value[i] = s.value;
        buffer[i] = s.buffer;
    }
}

void host_dropout(const float* x, float* out, int rows, int width, float p, long long seed, const int* positions,
                  int firstRow, int firstColumn) {
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < width; c++) {
            long i = (long) r * width + c;
            out[i] = flexllm::dropout(x[i], seed, positions[firstRow + r], firstColumn + c, p);
        }
    }
}

}  // extern "C"
