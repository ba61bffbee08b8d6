// The per-element math of FlexLLM's kernels, written once: the device kernels of flexllm_kernels.cu call these
// functions, and the tests compile them for the host (src/test/cuda/flexllm_math_host.cu, by nvcc) to compare
// them with the CPU backend element by element. Only float arithmetic and <math.h> functions, which mean the same
// on both sides (sqrtf and division are correctly rounded on the device by nvcc's defaults, expf within 2 ulp).
#pragma once

#include <math.h>

#ifdef __CUDACC__
#define FLEXLLM_MATH __host__ __device__ inline
#else
#define FLEXLLM_MATH inline
#endif

namespace flexllm {

struct Pair {
    float first;
    float second;
};

// RMSNorm: the scale 1/sqrt(mean(x²) + eps) of a row of `width` values whose squares sum to sumSquares.
FLEXLLM_MATH float rms_scale(float sumSquares, int width, float eps) {
    return 1.f / sqrtf(sumSquares / width + eps);
}

FLEXLLM_MATH float rms_norm(float x, float scale, float weight) {
    return x * scale * weight;
}

// y_i = x_i·s·w_i with s = (Σx²/n + eps)^(-1/2), so dx_i = s·w_i·dy_i − x_i·s³/n · Σ_j dy_j·w_j·x_j, where
// weightedDot is that last sum.
FLEXLLM_MATH float rms_norm_backward(float x, float dy, float weight, float scale, float weightedDot, int width) {
    return scale * weight * dy - x * (scale * scale * scale * weightedDot / width);
}

FLEXLLM_MATH float sigmoid(float x) {
    return 1.f / (1.f + expf(-x));
}

// SwiGLU: silu(gate)·up, silu(g) = g·σ(g).
FLEXLLM_MATH float swiglu(float gate, float up) {
    return gate * sigmoid(gate) * up;
}

// (dGate, dUp) of swiglu given dOut: silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
FLEXLLM_MATH Pair swiglu_backward(float gate, float up, float dOut) {
    float s = sigmoid(gate);
    return {dOut * up * s * (1.f + gate * (1.f - s)), dOut * gate * s};
}

// RoPE (rotate_half): the pair (x_i, x_{i+half}) turned by the angle whose cosine is c and sine s; a negated s
// turns it back, which is the backward pass.
FLEXLLM_MATH Pair rope_rotate(float a, float b, float c, float s) {
    return {a * c - b * s, b * c + a * s};
}

// Softmax: the unnormalized weight e^(score − max) of a score, 0 for a masked one (−∞).
FLEXLLM_MATH float softmax_weight(float score, float max) {
    return score == -INFINITY ? 0.f : expf(score - max);
}

// Cross-entropy of a row of logits with maximum `max` and Σ e^(s − max) = sum: the gradient of weight·CE with
// respect to one logit (weight·(softmax − onehot)), and weight·CE = weight·(log sum + max − s_target).
FLEXLLM_MATH float cross_entropy_grad(float score, float max, float sum, bool isTarget, float weight) {
    return weight * (softmax_weight(score, max) / sum - (isTarget ? 1.f : 0.f));
}

FLEXLLM_MATH float cross_entropy_loss(float targetScore, float max, float sum, float weight) {
    return weight * (logf(sum) + max - targetScore);
}

// One AdamW step's constants (torch.optim.AdamW at step t): decay = 1 − lr·weight_decay,
// stepSize = lr / (1 − β1^t), rootCorrection = sqrt(1 − β2^t).
struct AdamWStep {
    float beta1;
    float beta2;
    float eps;
    float decay;
    float stepSize;
    float rootCorrection;
};

struct AdamWState {
    float value;
    float m;
    float v;
};

// m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², p = p·decay − stepSize·m / (sqrt(v)/rootCorrection + eps).
FLEXLLM_MATH AdamWState adamw(AdamWState s, float grad, AdamWStep k) {
    float m = k.beta1 * s.m + (1.f - k.beta1) * grad;
    float v = k.beta2 * s.v + (1.f - k.beta2) * grad * grad;
    return {s.value * k.decay - k.stepSize * m / (sqrtf(v) / k.rootCorrection + k.eps), m, v};
}

// Attention's backward for one query row: with P its softmax over the keys it sees and dP_j = dO·v_j, the gradient
// of its score j is dS_j = P_j·(dP_j − Σ_i P_i·dP_i)·scale (scale = 1/√d, as the forward's).
FLEXLLM_MATH float attention_score_grad(float p, float dp, float rowsum, float scale) {
    return p * (dp - rowsum) * scale;
}

// Cross-entropy over a vocabulary split by tensor-parallel ranks (the CPU backend's ShardLoss): each rank turns its
// shard of a row into the shard's softmax and reports the shard's log-sum-exp l_k as a float and the float of its
// remainder, and the target's logit where it holds it; the whole row's log-sum-exp is L = log Σ_k e^(l_k) (in
// double, over the ranks in order), its softmax on shard k is p_k·e^(l_k − L), and the loss is L − x_target.
FLEXLLM_MATH Pair split_double(double v) {
    float high = (float) v;
    return {high, (float) (v - high)};
}

// L from the ranks' stats of row r: gathered is [ranks, rows, 3], rank 0's first.
FLEXLLM_MATH double whole_log_sum_exp(const float* gathered, int ranks, int rows, int r) {
    double max = -INFINITY;
    for (int k = 0; k < ranks; k++) {
        const float* s = gathered + ((long) k * rows + r) * 3;
        max = fmax(max, (double) s[0] + s[1]);
    }
    double sum = 0;
    for (int k = 0; k < ranks; k++) {
        const float* s = gathered + ((long) k * rows + r) * 3;
        sum += exp((double) s[0] + s[1] - max);
    }
    return max + log(sum);
}

// The target's logit, from the one rank that holds it (the others report 0).
FLEXLLM_MATH double picked_logit(const float* gathered, int ranks, int rows, int r) {
    double picked = 0;
    for (int k = 0; k < ranks; k++) picked += gathered[((long) k * rows + r) * 3 + 2];
    return picked;
}

// What a shard's softmax is scaled by to become weight·(the whole row's softmax) on that shard.
FLEXLLM_MATH float shard_scale(double own, double whole, float weight) {
    return (float) (weight * exp(own - whole));
}

// One step of torch.optim.SGD without dampening or Nesterov, in double per element as peft's Sgd:
// g' = g + weightDecay·p; with momentum buf = momentum·buf + g' (buf = g' on the first step) and p −= lr·buf,
// else p −= lr·g'.
struct SgdStep {
    double lr;
    double momentum;
    double weightDecay;
    bool first;
};

struct SgdState {
    float value;
    float buffer;
};

FLEXLLM_MATH SgdState sgd(SgdState s, float grad, SgdStep k) {
    double g = grad + k.weightDecay * s.value;
    if (k.momentum == 0) {
        return {(float) (s.value - k.lr * g), s.buffer};
    }
    double b = k.first ? g : k.momentum * s.buffer + g;
    return {(float) (s.value - k.lr * b), (float) b};
}

// Dropout's mask, as the CPU backend draws it: element (position, column) of a sequence is kept or dropped by the
// SplitMix64 finalizer of a key made of the seed, the position and the column of the whole input alone (64-bit
// integer arithmetic, so every backend drops the same elements), and a kept one is scaled by 1/(1 − p).
FLEXLLM_MATH float dropout_uniform(unsigned long long key) {
    unsigned long long z = key;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float) (z >> 40) * 0x1.0p-24f;
}

FLEXLLM_MATH float dropout(float x, long long seed, int position, int column, float p) {
    unsigned long long row = (unsigned long long) seed + (unsigned long long) (long long) position * 0x9E3779B97F4A7C15ull;
    unsigned long long key = row + (unsigned long long) (long long) column * 0xC2B2AE3D27D4EB4Full;
    return x * (dropout_uniform(key) < p ? 0.f : 1.f / (1.f - p));  // a dropped negative is −0, as on the CPU
}

}  // namespace flexllm
