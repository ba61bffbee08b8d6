package org.flexllm.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Graph pruning and rematerialization for the layer body, decided once at compile time.
 *
 * <p>Each op's backward needs some activations as the op read them ({@link Op#saves()}). The plan keeps some
 * of those in the forward pass (the {@link #kept()} versions, per token and layer) and recomputes the rest at
 * the start of the layer's backward by <em>replaying</em> the forward ops that produced them, starting from
 * kept versions: a backward scan over the body marks which ops must re-run, where kept versions are restored
 * into buffers, and where rematerialized ones are captured before later replayed ops overwrite them. The
 * KV-cache writer never re-runs: attention re-reads the cache.
 */
public final class BackwardPlan {
    private final List<Version> kept;
    private final Map<Version, Integer> slots = new HashMap<>();
    private final List<List<Version>> snapshotBefore = new ArrayList<>();
    private final List<List<Version>> restoreBefore = new ArrayList<>();
    private final List<List<Version>> captureBefore = new ArrayList<>();
    private final List<Map<Value, Version>> saves = new ArrayList<>();
    private final boolean[] replay;

    private BackwardPlan(List<Op> body, Pruning pruning) {
        List<Map<Value, Version>> reads = readVersions(body);
        kept = List.copyOf(kept(body, reads, pruning));
        for (int k = 0; k < kept.size(); k++) {
            slots.put(kept.get(k), k);
        }
        replay = new boolean[body.size()];
        Set<Version> snapshotted = new HashSet<>();
        for (int i = 0; i < body.size(); i++) {
            List<Version> first = new ArrayList<>();
            for (Version v : reads.get(i).values()) {
                if (kept.contains(v) && snapshotted.add(v)) {
                    first.add(v);
                }
            }
            snapshotBefore.add(first);
            restoreBefore.add(new ArrayList<>());
            captureBefore.add(new ArrayList<>());
            Map<Value, Version> saved = new HashMap<>();
            for (Value v : body.get(i).saves()) {
                saved.put(v, reads.get(i).get(v));
            }
            saves.add(saved);
        }
        planReplay(body, reads);
        captureOnlyFirst();
    }

    /** The plan for a decoder's layer body. */
    public static BackwardPlan of(DecoderGraph graph, Pruning pruning) {
        return new BackwardPlan(graph.layer(), pruning);
    }

    /** Per op, the version of each value it reads. */
    private static List<Map<Value, Version>> readVersions(List<Op> body) {
        Map<Value, Integer> lastWriter = new HashMap<>();
        List<Map<Value, Version>> reads = new ArrayList<>();
        for (int i = 0; i < body.size(); i++) {
            Map<Value, Version> r = new HashMap<>();
            for (Value v : body.get(i).reads()) {
                r.put(v, new Version(v, lastWriter.getOrDefault(v, -1)));
            }
            reads.add(r);
            for (Value v : body.get(i).writes()) {
                lastWriter.put(v, i);
            }
        }
        return reads;
    }

    private static Set<Version> kept(List<Op> body, List<Map<Value, Version>> reads, Pruning pruning) {
        Set<Version> kept = new LinkedHashSet<>();
        for (int i = 0; i < body.size(); i++) {
            List<Value> values = pruning == Pruning.KEEP_ALL ? body.get(i).reads() : body.get(i).keeps();
            for (Value v : values) {
                kept.add(reads.get(i).get(v));
            }
        }
        return kept;
    }

    private void planReplay(List<Op> body, List<Map<Value, Version>> reads) {
        Set<Version> needed = new HashSet<>();
        for (int i = body.size() - 1; i >= 0; i--) {
            for (Version v : saves.get(i).values()) {
                if (!kept.contains(v)) {
                    needed.add(v);
                    captureBefore.get(i).add(v);
                }
            }
            if (producesNeeded(body.get(i), i, needed)) {
                replay[i] = true;
                for (Value w : body.get(i).writes()) {
                    needed.remove(new Version(w, i));
                }
                for (Version v : reads.get(i).values()) {
                    if (kept.contains(v)) {
                        restoreBefore.get(i).add(v);
                    } else {
                        needed.add(v);
                    }
                }
            }
        }
        if (!needed.isEmpty()) {
            throw new IllegalStateException("the backward needs " + needed.stream().map(v -> v.value().name()).toList()
                    + " from the layer's input, which no op keeps");
        }
    }

    /** A version several ops save (q, k and v's bypasses read the same normed input) is captured once. */
    private void captureOnlyFirst() {
        Set<Version> seen = new HashSet<>();
        for (List<Version> at : captureBefore) {
            at.removeIf(v -> !seen.add(v));
        }
    }

    private static boolean producesNeeded(Op op, int index, Set<Version> needed) {
        return op.writes().stream().anyMatch(w -> needed.contains(new Version(w, index)));
    }

    /** The versions the forward keeps, per token and layer; their order is the tape's slot order. */
    List<Version> kept() {
        return kept;
    }

    /** The tape slot of a kept version, or −1 for one that is rematerialized. */
    int slotOf(Version v) {
        return slots.getOrDefault(v, -1);
    }

    List<Version> snapshotBefore(int op) {
        return snapshotBefore.get(op);
    }

    List<Version> restoreBefore(int op) {
        return restoreBefore.get(op);
    }

    List<Version> captureBefore(int op) {
        return captureBefore.get(op);
    }

    Map<Value, Version> saves(int op) {
        return saves.get(op);
    }

    boolean replays(int op) {
        return replay[op];
    }

    /** Versions rematerialized in the backward (each captured once per layer). */
    List<Version> rematerialized() {
        return captureBefore.stream().flatMap(List::stream).distinct().toList();
    }
}
