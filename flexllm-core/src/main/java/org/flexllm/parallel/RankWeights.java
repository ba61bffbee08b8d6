package org.flexllm.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.flexllm.graph.Projection;
import org.flexllm.model.LayerWeights;
import org.flexllm.model.LinearWeights;
import org.flexllm.model.ModelWeights;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * One rank's slice of a model's weights, as its plan splits them. Slices of rows (column-parallel Linears, the
 * vocabulary) are views of the mapped weights; slices of columns (row-parallel Linears) and the padded last slice
 * of lm_head are copied into {@code arena}, in the stored dtype.
 */
final class RankWeights {
    private final TensorParallelPlan plan;
    private final int rank;
    private final Arena arena;

    private RankWeights(TensorParallelPlan plan, int rank, Arena arena) {
        this.plan = plan;
        this.rank = rank;
        this.arena = arena;
    }

    static ModelWeights of(TensorParallelPlan plan, int rank, ModelWeights w, Arena arena) {
        return new RankWeights(plan, rank, arena).model(w);
    }

    private ModelWeights model(ModelWeights w) {
        int vocab = plan.model().vocabSize();
        int first = rank * plan.vocabPerRank();
        int held = Math.min(plan.vocabPerRank(), vocab - first);
        if (held <= 0) {
            throw new TensorParallelException("a vocabulary of " + vocab + " tokens leaves rank " + rank + " of "
                    + plan.ranks() + " no rows (" + plan.vocabPerRank() + " per rank)");
        }
        Tensor embed = rows(w.embedTokens(), first, held);
        Tensor head = held == plan.vocabPerRank() ? rows(w.lmHead(), first, held)
                : padded(rows(w.lmHead(), first, held), plan.vocabPerRank());
        List<LayerWeights> layers = new ArrayList<>();
        for (LayerWeights l : w.layers()) {
            layers.add(layer(l));
        }
        return new ModelWeights(embed, layers, w.norm(), head);
    }

    private LayerWeights layer(LayerWeights l) {
        return new LayerWeights(l.inputLayernorm(), linear(l, Projection.Q_PROJ), linear(l, Projection.K_PROJ),
                linear(l, Projection.V_PROJ), linear(l, Projection.O_PROJ), l.postAttentionLayernorm(),
                linear(l, Projection.GATE_PROJ), linear(l, Projection.UP_PROJ), linear(l, Projection.DOWN_PROJ));
    }

    private LinearWeights linear(LayerWeights l, Projection p) {
        LinearWeights w = p.of(l);
        return LinearSplit.of(p) == LinearSplit.COLUMN
                ? byOutput(w, plan.firstOutput(p, rank), plan.outputsPerRank(p))
                : byInput(w, plan.firstInput(p, rank), plan.inputsPerRank(p), p);
    }

    /** A column-parallel Linear: output rows {@code [first, first + count)} of W and of its bias. */
    private LinearWeights byOutput(LinearWeights w, int first, int count) {
        return new LinearWeights(rows(w.weight(), first, count), w.hasBias() ? rows(w.bias(), first, count) : null);
    }

    /** A row-parallel Linear: input columns {@code [first, first + count)}; its bias is added once, by rank 0. */
    private LinearWeights byInput(LinearWeights w, int first, int count, Projection p) {
        return new LinearWeights(columns(w.weight(), first, count, p), rank == 0 ? w.bias() : null);
    }

    /** Rows (of a matrix) or elements (of a vector) {@code [first, first + count)}: a view. */
    static Tensor rows(Tensor t, long first, long count) {
        long cols = t.shape().rank() == 1 ? 1 : t.cols();
        long rowBytes = t.dtype().bytes(cols);
        Shape shape = t.shape().rank() == 1 ? Shape.of(count) : Shape.of(count, cols);
        return new Tensor(t.name(), t.dtype(), shape, t.data().asSlice(first * rowBytes, count * rowBytes));
    }

    private Tensor columns(Tensor t, int first, int count, Projection p) {
        int block = t.dtype().blockSize();
        if (first % block != 0 || count % block != 0) {
            throw new TensorParallelException(t.name() + " (" + t.dtype() + ", blocks of " + block + ") cannot be split"
                    + " into " + plan.ranks() + " slices of " + count + " input columns for the row-parallel "
                    + p.moduleName());
        }
        long rowBytes = t.dtype().bytes(t.cols());
        long sliceBytes = t.dtype().bytes(count);
        long skip = t.dtype().bytes(first);
        MemorySegment copy = arena.allocate(sliceBytes * t.rows(), 64);
        for (long r = 0; r < t.rows(); r++) {
            MemorySegment.copy(t.data(), r * rowBytes + skip, copy, r * sliceBytes, sliceBytes);
        }
        return new Tensor(t.name(), t.dtype(), Shape.of(t.rows(), count), copy);
    }

    /** {@code t} with zero rows appended up to {@code rows}. */
    private Tensor padded(Tensor t, int rows) {
        long rowBytes = t.dtype().bytes(t.cols());
        MemorySegment copy = arena.allocate(rowBytes * rows, 64);
        MemorySegment.copy(t.data(), 0, copy, 0, t.data().byteSize());
        return new Tensor(t.name(), t.dtype(), Shape.of(rows, t.cols()), copy);
    }
}
