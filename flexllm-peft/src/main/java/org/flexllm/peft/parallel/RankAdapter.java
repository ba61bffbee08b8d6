package org.flexllm.peft.parallel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.flexllm.graph.Projection;
import org.flexllm.parallel.BypassTargets;
import org.flexllm.parallel.LinearSplit;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.format.AdapterSlot;
import org.flexllm.tensor.Shape;

/**
 * One rank's copy of an adapter: every parameter cut to what the rank's bypass ops read (LoRA's A whole on a
 * column-parallel Linear and split by input on a row-parallel one; B split by output, or whole; IA3's vector like what
 * it scales), with a gradient of its own where the whole parameter has one. The whole adapter stays the truth:
 * {@link #moveGradients} adds the rank's gradients back where its slices came from, so that moving every rank's, in
 * rank order, all-reduces the gradients of the replicated slices and assembles the split ones; {@link #copyValues}
 * refreshes the slices after a step. Like every PEFT parameter, the slices are f32 in host memory.
 */
public final class RankAdapter {
    private final int rank;
    private final List<Slice> slices;
    private final List<Parameter> parameters;

    /** Where a rank's parameter (a matrix, as PEFT stores them all) sits in the whole one: from row {@code row}, column {@code column}. */
    private record Slice(Parameter whole, Parameter local, int row, int column) {
        int rows() {
            return Math.toIntExact(local.shape().dim(0));
        }

        int columns() {
            return Math.toIntExact(local.shape().dim(1));
        }

        /** Float index in the whole parameter of the local row {@code r}'s first element. */
        long wholeOffset(int r) {
            return (long) (row + r) * whole.shape().dim(1) + column;
        }
    }

    private RankAdapter(int rank, List<Slice> slices) {
        this.rank = rank;
        this.slices = List.copyOf(slices);
        this.parameters = slices.stream().map(Slice::local).toList();
    }

    /**
     * Rank {@code rank}'s slices of {@code whole} (an adapter of {@code config} on {@code plan}'s model), allocated in
     * {@code arena} and filled with the whole parameters' values; frozen (no gradient) where the whole is.
     */
    public static RankAdapter of(TensorParallelPlan plan, int rank, AdapterConfig config, List<Parameter> whole,
                                 Arena arena) {
        Map<String, Parameter> byKey = new HashMap<>();
        whole.forEach(p -> byKey.put(p.name(), p));
        List<Slice> slices = new ArrayList<>();
        for (AdapterSlot slot : AdapterSlot.of(config, plan.rankConfig())) {
            Parameter full = byKey.get(slot.key());
            Shape local = slot.shape();
            long bytes = local.elements() * Float.BYTES;
            MemorySegment grad = full.grad().byteSize() == 0 ? MemorySegment.NULL
                    : arena.allocate(bytes, 64);
            Parameter slice = new Parameter(slot.key(), local, arena.allocate(bytes, 64), grad);
            slices.add(place(plan, rank, slot, full, slice));
        }
        RankAdapter adapter = new RankAdapter(rank, slices);
        adapter.copyValues();
        return adapter;
    }

    /** Every rank's slices of {@code whole}, by rank. */
    public static List<RankAdapter> ofRanks(TensorParallelPlan plan, AdapterConfig config, List<Parameter> whole,
                                            Arena arena) {
        return IntStream.range(0, plan.ranks()).mapToObj(r -> of(plan, r, config, whole, arena)).toList();
    }

    /** The slice's offsets in the whole parameter, seen as a matrix of rows × columns. */
    private static Slice place(TensorParallelPlan plan, int rank, AdapterSlot slot, Parameter whole, Parameter local) {
        Projection p = slot.projection();
        boolean column = LinearSplit.of(p) == LinearSplit.COLUMN;
        int output = plan.firstOutput(p, rank);
        int input = plan.firstInput(p, rank);
        return switch (slot.weight()) {
            case LORA_A -> new Slice(whole, local, 0, column ? 0 : input);       // [r, in]
            case LORA_B -> new Slice(whole, local, column ? output : 0, 0);      // [out, r]
            case IA3_OUTPUT -> new Slice(whole, local, output, 0);               // [out, 1]
            case IA3_INPUT -> new Slice(whole, local, 0, input);                 // [1, in]
        };
    }

    /** The bypass ops an adapter of {@code config} attaches, as a tensor-parallel plan partitions them. */
    public static BypassTargets targets(AdapterConfig config) {
        return switch (config.method()) {
            case LORA -> BypassTargets.lora(config.targets(), config.r());
            case IA3 -> BypassTargets.ia3(config.targets(), config.feedforwardModules());
        };
    }

    /** The rank's parameters, named with the adapter's keys. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** The rank's bypasses, for its resident adapter slot. */
    public ResidentAdapters.Resident resident(String name, AdapterConfig config, TensorParallelPlan plan) {
        return ResidentAdapters.Resident.of(name, config, parameters, plan.rankConfig(), p -> plan.firstInput(p, rank));
    }

    /** Copies each slice's values out of the whole parameter (after an optimizer step changed it). */
    public void copyValues() {
        for (Slice s : slices) {
            long bytes = (long) s.columns() * Float.BYTES;
            for (int r = 0; r < s.rows(); r++) {
                MemorySegment.copy(s.whole().value(), s.wholeOffset(r) * Float.BYTES, s.local().value(),
                        r * bytes, bytes);
            }
        }
    }

    /**
     * Adds the rank's gradients into the whole parameters' gradients, where the slices came from, and zeroes the
     * rank's: what the rank's passes gathered since the last move is in the whole adapter's gradients then.
     */
    public void moveGradients() {
        for (Slice s : slices) {
            MemorySegment whole = s.whole().grad();
            MemorySegment local = s.local().grad();
            for (int r = 0; r < s.rows(); r++) {
                long at = s.wholeOffset(r);
                for (int c = 0; c < s.columns(); c++) {
                    long i = (long) r * s.columns() + c;
                    whole.setAtIndex(JAVA_FLOAT, at + c, whole.getAtIndex(JAVA_FLOAT, at + c)
                            + local.getAtIndex(JAVA_FLOAT, i));
                }
            }
            local.fill((byte) 0);
        }
    }
}
