package org.flexllm.backend.cpu;

import static org.flexllm.backend.VocabShard.STATS;

import java.lang.foreign.MemorySegment;
import org.flexllm.backend.VocabShard;

/**
 * Cross-entropy of next-token logits split over tensor-parallel ranks by vocabulary, in two halves around a gather
 * of three floats a row. With {@code p_k = softmax} over rank {@code k}'s shard and {@code l_k} its log-sum-exp,
 * the whole row's log-sum-exp is {@code L = log Σ_k e^(l_k)}, its softmax on shard {@code k} is
 * {@code p_k·e^(l_k − L)}, and the loss is {@code L − x_target}.
 */
final class ShardLoss {
    private ShardLoss() {}

    /** See {@link org.flexllm.backend.Backend#shardSoftmax}. */
    static void softmax(MemorySegment logits, int rows, VocabShard shard, int[] targets, MemorySegment stats) {
        Parallel.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                long off = (long) r * shard.width();
                int target = targets[r] < 0 ? -1 : shard.column(targets[r]);
                float picked = target < 0 ? 0 : VectorMath.get(logits, off + target);
                double lse = VectorMath.softmax(logits, off, shard.valid());
                float high = (float) lse;
                VectorMath.set(stats, (long) r * STATS, high);
                VectorMath.set(stats, (long) r * STATS + 1, (float) (lse - high));
                VectorMath.set(stats, (long) r * STATS + 2, picked);
            }
        });
    }

    /** See {@link org.flexllm.backend.Backend#shardCrossEntropy}. */
    static double crossEntropy(MemorySegment logits, int rows, VocabShard shard, int[] targets,
                               MemorySegment gathered, float weight) {
        double[] losses = Scratch.get().losses(rows);
        Parallel.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                losses[r] = row(logits, r, rows, shard, targets[r], gathered, weight);
            }
        });
        double sum = 0;
        for (int r = 0; r < rows; r++) {
            sum += losses[r];
        }
        return sum;
    }

    /** Row {@code r}: its gradient over the shard in place, its weighted cross-entropy returned. */
    private static double row(MemorySegment logits, int r, int rows, VocabShard shard, int target,
                              MemorySegment gathered, float weight) {
        long off = (long) r * shard.width();
        if (target < 0) {
            VectorMath.zero(logits, off, shard.width());
            return 0;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < shard.ranks(); k++) {
            max = Math.max(max, logSumExp(gathered, k, rows, r));
        }
        double sum = 0;
        double picked = 0;
        for (int k = 0; k < shard.ranks(); k++) {
            sum += StrictMath.exp(logSumExp(gathered, k, rows, r) - max);
            picked += stat(gathered, k, rows, r, 2);
        }
        double whole = max + StrictMath.log(sum);
        double own = logSumExp(gathered, shard.rank(), rows, r);
        VectorMath.scale(logits, off, shard.valid(), (float) (weight * StrictMath.exp(own - whole)));
        int column = shard.column(target);
        if (column >= 0) {
            VectorMath.set(logits, off + column, VectorMath.get(logits, off + column) - weight);
        }
        VectorMath.zero(logits, off + shard.valid(), shard.width() - shard.valid());
        return weight * (whole - picked);
    }

    /** Rank {@code k}'s log-sum-exp of row {@code r}: its float and its remainder's. */
    private static double logSumExp(MemorySegment gathered, int k, int rows, int r) {
        return (double) stat(gathered, k, rows, r, 0) + stat(gathered, k, rows, r, 1);
    }

    /** Float {@code i} of row {@code r}'s stats from rank {@code k}. */
    private static float stat(MemorySegment gathered, int k, int rows, int r, int i) {
        return VectorMath.get(gathered, ((long) k * rows + r) * STATS + i);
    }
}
