package org.flexllm.parallel;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.backend.VocabShard;
import org.flexllm.graph.Op;
import org.flexllm.graph.Ops.LmHead;
import org.flexllm.graph.Step;
import org.flexllm.graph.Value;
import org.flexllm.tensor.Tensor;

/** The ops a tensor-parallel rank's graph adds to the decoder's: the collectives and what surrounds them. */
public final class ParallelOps {
    private ParallelOps() {}

    /** {@code v = Σ_ranks v}: a row-parallel Linear's partial sums made whole. The sum's gradient is every rank's. */
    public record AllReduce(Value v, Communicator comm) implements Op {
        public List<Value> reads() { return List.of(v); }
        public List<Value> writes() { return List.of(v); }
        public String label() { return "AllReduce(" + v.name() + ")"; }

        public void forward(Step s) {
            comm.allReduce(s.buffer(v), (long) s.rows() * v.width());
        }

        /** Each rank's partial has the sum's gradient, which every rank already holds whole. */
        public void backward(Step s) {}
    }

    /** {@code x += part}: the residual add a row-parallel Linear cannot fuse, as its output must be reduced first. */
    public record AddInto(Value part, Value x) implements Op {
        public List<Value> reads() { return List.of(part, x); }
        public List<Value> writes() { return List.of(x); }
        public String label() { return "AddInto(" + x.name() + ")"; }

        public void forward(Step s) {
            s.backend().axpy(1f, s.buffer(part), s.buffer(x), (long) s.rows() * x.width());
        }

        public void backward(Step s) {
            s.backend().axpy(1f, s.grad(x), s.grad(part), (long) s.rows() * x.width());
        }
    }

    /**
     * Megatron's "f": nothing in the forward; in the backward the gradient of a replicated value that feeds
     * column-parallel Linears, a partial sum on each rank, is all-reduced before the op that wrote the value.
     */
    public record ReduceGradient(Value v, Communicator comm) implements Op {
        public List<Value> reads() { return List.of(v); }
        public List<Value> writes() { return List.of(); }
        public String label() { return "ReduceGradient(" + v.name() + ")"; }

        public void forward(Step s) {}

        public void backward(Step s) {
            comm.allReduce(s.grad(v), (long) s.rows() * v.width());
        }
    }

    /**
     * The embedding rows {@code [first, first + count)} this rank holds, looked up; tokens outside them get zeros,
     * and the all-reduce that follows ({@link AllReduce}) adds the one rank's row that is not zero.
     */
    public static final class VocabParallelEmbed implements Op {
        private final Value out;
        private final int first;
        private final int count;
        private int[] local = new int[0];

        public VocabParallelEmbed(Value out, int first, int count) {
            this.out = out;
            this.first = first;
            this.count = count;
        }

        public List<Value> reads() { return List.of(); }
        public List<Value> writes() { return List.of(out); }

        @Override
        public void forward(Step s) {
            int n = s.rows();
            int[] ids = s.batch().tokens();
            if (local.length < n) {
                local = new int[n];
            }
            for (int t = 0; t < n; t++) {
                local[t] = mine(ids[t]) ? ids[t] - first : 0;
            }
            MemorySegment x = s.buffer(out);
            s.backend().embed(s.weights().embedTokens(), local, n, x);
            long row = out.width();
            for (int t = 0; t < n; t++) {
                if (!mine(ids[t])) {
                    s.backend().zero(x.asSlice(t * row * Float.BYTES), row);
                }
            }
        }

        private boolean mine(int id) {
            return id >= first && id < first + count;
        }

        /** The embeddings are frozen and nothing precedes them. */
        @Override
        public void backward(Step s) {}
    }

    /**
     * lm_head over this rank's slice of the vocabulary ({@code shard} rows, zero-padded on the last rank). Rows sampled
     * for the sink need whole rows of logits: a chunk that has some gathers every rank's slices into {@code logits}.
     * Rows a finetuning window trains never do: each rank computes its slice's softmax and log-sum-exp, the ranks
     * gather that and the target's logit, three floats a row ({@code stats} into {@code allStats}) and turn their own slice into its part of
     * the loss's gradient, which is multiplied back through the rank's slice of lm_head; the partial sums of the
     * input's gradient are then all-reduced.
     *
     * @param rank this rank; its slice starts at vocabulary row {@code rank · shard.width()}
     */
    public record VocabParallelLmHead(Value in, Value logits, Value shard, Value gathered, Value stats, Value allStats,
                                      int rank, Communicator comm) implements Op {
        public List<Value> reads() { return List.of(in); }
        public List<Value> writes() { return List.of(logits, shard, gathered, stats, allStats); }
        public String label() { return "VocabParallelLmHead"; }

        public void forward(Step s) {
            for (int first = 0; first < s.rows(); first += logits.fixedRows()) {
                int count = Math.min(logits.fixedRows(), s.rows() - first);
                Tensor head = s.weights().lmHead();
                MemorySegment x = s.buffer(in).asSlice((long) first * in.width() * Float.BYTES);
                s.backend().matmul(x, count, head, s.buffer(shard), false);
                int[] targets = s.chunkTargets(first, count);
                if (sampled(targets, count)) {
                    gather(s, count);
                    if (s.sink() != null) {
                        LmHead.sinkRows(s, s.buffer(logits), logits.width(), first, count, targets);
                    }
                }
                if (s.training() != null) {
                    lossGradient(s, first, count, targets);
                }
            }
        }

        /** Whether a row of the chunk goes to the sink (it has no training target): the same answer on every rank. */
        private static boolean sampled(int[] targets, int count) {
            for (int r = 0; r < count; r++) {
                if (targets[r] < 0) {
                    return true;
                }
            }
            return false;
        }

        /** The ranks' slices, rank-major, rearranged into whole rows (the last rank's padding left out). */
        private void gather(Step s, int count) {
            int width = shard.width();
            int vocab = logits.width();
            comm.allGather(s.buffer(shard), (long) count * width, s.buffer(gathered));
            for (int r = 0; r < comm.size(); r++) {
                int columns = Math.min(width, vocab - r * width);
                s.backend().copyRows(s.buffer(gathered).asSlice((long) r * count * width * Float.BYTES), width,
                        s.buffer(logits).asSlice((long) r * width * Float.BYTES), vocab, count, columns);
            }
        }

        private void lossGradient(Step s, int first, int count, int[] targets) {
            int vocab = logits.width();
            for (int r = 0; r < count; r++) {
                if (targets[r] >= vocab) {
                    throw new IllegalArgumentException("target " + targets[r] + " of row " + r
                            + " is outside the vocabulary of " + vocab + " logits");
                }
            }
            VocabShard slice = new VocabShard(rank, comm.size(), shard.width(),
                    Math.min(shard.width(), vocab - rank * shard.width()));
            s.backend().shardSoftmax(s.buffer(shard), count, slice, targets, s.buffer(stats));
            comm.allGather(s.buffer(stats), (long) count * VocabShard.STATS, s.buffer(allStats));
            LmHead.addLoss(s, s.backend().shardCrossEntropy(s.buffer(shard), count, slice, targets,
                    s.buffer(allStats), s.training().lossWeight()));
            MemorySegment dx = s.grad(in).asSlice((long) first * in.width() * Float.BYTES);
            s.backend().matmulTransposed(s.buffer(shard), count, s.weights().lmHead(), dx, false);
            comm.allReduce(dx, (long) count * in.width());
        }

        /** Done in {@link #forward}, while each chunk's logits were at hand. */
        public void backward(Step s) {}
    }
}
