package org.flexllm.parallel;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.backend.VocabShard;
import org.flexllm.graph.DecoderGraph;
import org.flexllm.graph.GraphPass;
import org.flexllm.graph.LlamaGraph;
import org.flexllm.graph.Op;
import org.flexllm.graph.Ops.Embed;
import org.flexllm.graph.Ops.Linear;
import org.flexllm.graph.Ops.LmHead;
import org.flexllm.graph.Ops.RmsNorm;
import org.flexllm.graph.Value;
import org.flexllm.parallel.ParallelOps.AddInto;
import org.flexllm.parallel.ParallelOps.AllReduce;
import org.flexllm.parallel.ParallelOps.ReduceGradient;
import org.flexllm.parallel.ParallelOps.VocabParallelEmbed;
import org.flexllm.parallel.ParallelOps.VocabParallelLmHead;

/**
 * Turns the graph of {@link TensorParallelPlan#rankConfig()} (the decoder at one rank's widths) into that rank's
 * share of the parallel graph: the vocabulary-parallel embedding and lm_head, and each row-parallel Linear's fused
 * residual add undone, so that its partial sum is all-reduced first. It runs before the bypass passes: a LoRA on
 * o_proj or down_proj then adds into the partial sum, ahead of the all-reduce, as the plan has it.
 */
public record TensorParallelPass(TensorParallelPlan plan, int rank, Communicator comm) implements GraphPass {

    @Override
    public DecoderGraph apply(DecoderGraph graph) {
        return new DecoderGraph(prologue(graph.prologue()), layer(graph.layer()), epilogue(graph.epilogue()));
    }

    private List<Op> prologue(List<Op> ops) {
        List<Op> out = new ArrayList<>();
        for (Op op : ops) {
            if (op instanceof Embed e) {
                int first = rank * plan.vocabPerRank();
                out.add(new VocabParallelEmbed(e.out(), first,
                        Math.min(plan.vocabPerRank(), plan.model().vocabSize() - first)));
                out.add(new AllReduce(e.out(), comm));
            } else {
                out.add(op);
            }
        }
        return out;
    }

    private List<Op> layer(List<Op> ops) {
        List<Op> out = new ArrayList<>();
        for (Op op : ops) {
            if (op instanceof Linear l && LinearSplit.of(l.projection()) == LinearSplit.ROW) {
                Value partial = Value.perToken(TensorParallelPlan.partialName(l.projection()), l.out().width());
                out.add(new Linear(l.projection(), l.in(), partial, false));
                out.add(new AllReduce(partial, comm));
                out.add(new AddInto(partial, l.out()));
            } else {
                out.add(op);
                if (op instanceof RmsNorm n) {
                    out.add(new ReduceGradient(n.out(), comm));
                }
            }
        }
        return out;
    }

    private List<Op> epilogue(List<Op> ops) {
        List<Op> out = new ArrayList<>();
        for (Op op : ops) {
            if (op instanceof LmHead head) {
                int rows = LlamaGraph.LOGIT_CHUNK;
                int shard = plan.vocabPerRank();
                int stats = VocabShard.STATS;
                out.add(new VocabParallelLmHead(head.in(), head.scratch(), Value.scratch("logits_shard", rows, shard),
                        Value.scratch("logits_gathered", rows, shard * plan.ranks()),
                        Value.scratch("loss_stats", rows, stats), Value.scratch("loss_stats_gathered", rows,
                        stats * plan.ranks()), rank, comm));
            } else {
                out.add(op);
            }
        }
        return out;
    }
}
