package org.flexllm.peft.parallel;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.backend.Backend;
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
 * it scales), with a gradient of its own. The whole adapter stays the truth: {@link #addGradientsTo} adds the rank's
 * gradients back where its slices came from, so that summing every rank's, in rank order, all-reduces the gradients of
 * the replicated slices and assembles the split ones; {@link #copyValuesFrom} refreshes the slices after a step.
 */
public final class RankAdapter {
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

        int wholeColumns() {
            return Math.toIntExact(whole.shape().dim(1));
        }
    }

    private RankAdapter(List<Slice> slices) {
        this.slices = List.copyOf(slices);
        this.parameters = slices.stream().map(Slice::local).toList();
    }

    /**
     * Rank {@code rank}'s slices of {@code whole} (an adapter of {@code config} on {@code plan}'s model), allocated on
     * the rank's {@code backend} and filled with the whole parameters' values.
     */
    public static RankAdapter of(TensorParallelPlan plan, int rank, AdapterConfig config, List<Parameter> whole,
                                 Backend backend) {
        Map<String, Parameter> byKey = new HashMap<>();
        whole.forEach(p -> byKey.put(p.name(), p));
        List<Slice> slices = new ArrayList<>();
        for (AdapterSlot slot : AdapterSlot.of(config, plan.rankConfig())) {
            Parameter full = byKey.get(slot.key());
            Shape local = slot.shape();
            Parameter p = new Parameter(slot.key(), local, backend.allocate(local.elements()),
                    backend.allocate(local.elements()));
            slices.add(place(plan, rank, slot, full, p));
        }
        RankAdapter adapter = new RankAdapter(slices);
        adapter.copyValuesFrom(backend);
        return adapter;
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
        return ResidentAdapters.Resident.of(name, config, parameters, plan.rankConfig());
    }

    /** Copies each slice's values out of the whole parameter (after an optimizer step changed it). */
    public void copyValuesFrom(Backend backend) {
        for (Slice s : slices) {
            long offset = ((long) s.row() * s.wholeColumns() + s.column()) * Float.BYTES;
            backend.copyRows(s.whole().value().asSlice(offset), s.wholeColumns(), s.local().value(), s.columns(),
                    s.rows(), s.columns());
        }
    }

    /** Adds the rank's gradients into the whole parameters' gradients, where the slices came from. */
    public void addGradientsTo(Backend backend) {
        for (Slice s : slices) {
            for (int r = 0; r < s.rows(); r++) {
                long offset = ((long) (s.row() + r) * s.wholeColumns() + s.column()) * Float.BYTES;
                MemorySegment row = s.local().grad().asSlice((long) r * s.columns() * Float.BYTES);
                backend.axpy(1f, row, s.whole().grad().asSlice(offset), s.columns());
            }
        }
    }
}
