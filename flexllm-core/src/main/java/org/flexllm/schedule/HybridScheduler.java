package org.flexllm.schedule;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.LongPredicate;
import org.flexllm.schedule.CoServingPlan.Slice;
import org.flexllm.schedule.CoServingPlan.Window;

/**
 * The scheduling policy: how each iteration is shared between inference and finetuning.
 *
 * <p>{@link Policy#COSERVE}: inference first — a decode token to every running request, then prefill chunks by
 * earliest deadline, sized (Sarathi-style) so that the iteration ends before the decoding requests' next token is
 * due, unless the most urgent prompt would then miss its TTFT: it gets the smallest chunk that keeps its pace. Then
 * a backward slice and a forward window, each the largest whose iteration ends before the most urgent request's
 * next token is due. A request's next token is due by its TTFT while it has none, else at {@code first + n · TPOT}:
 * a request that ran ahead of its TPOT has banked slack a long backward slice may spend, one that fell behind
 * leaves finetuning nothing. "Ends before" is judged on the latency model's {@link LatencyModel#boundMs bound} (a
 * high quantile of its own error), never on the bare prediction. When nothing fits, finetuning waits (the plan
 * says so): the SLO comes first. With no request at all, finetuning takes the whole budget, in iterations of at
 * most the idle limit so that a request arriving meanwhile still meets its TTFT; and an iteration without
 * inference (none running, or those waiting cannot start: their KV blocks may be held by the job's own samples)
 * runs at least one backward row or one window token, so that the job always progresses. A backward slice is whole
 * layers when one fits, else a chunk of one layer's rows (the last first), so that a layer slower than the
 * tightest TPOT still runs, over several iterations.
 *
 * <p>The baselines: {@link Policy#SPATIAL} reserves a fixed share of the token budget for finetuning (backward
 * layer-tokens counted in forward tokens of equal predicted time, one layer at least); {@link Policy#TEMPORAL} runs a whole sample
 * every K iterations or whenever no request is waiting or running; {@link Policy#FINETUNE_ONLY} runs whole
 * samples only; {@link Policy#INFERENCE_ONLY} never finetunes.
 *
 * <p>Several jobs share finetuning by weight: each kind of work goes to the lane with the least time used per
 * unit of weight.
 */
public final class HybridScheduler {
    /**
     * The scheduler plans to meet the targets scaled by this: the bound covers the latency model's error, this
     * the iterations it cannot shorten (inference alone slower than the TPOT).
     */
    private static final double MARGIN = 0.95;
    /**
     * Finetuning plans against the targets scaled by this: a request that runs ahead of its TPOT banks slack, and
     * finetuning may spend only part of it, the rest staying for what cannot be planned (a prompt arriving, whose
     * prefill the running requests then wait for).
     */
    private static final double FINETUNE_MARGIN = 0.9;
    /** Prefill tokens an iteration carries at least for a prompt that will miss its TTFT whatever the pace. */
    private static final int LATE_CHUNK = 16;
    /** A prompt chunked beside decodes is paced to finish within this share of the time its TTFT leaves. */
    private static final double PACE_SLACK = 0.5;

    private static final Predicate<TrainingLane> BACKWARD = l -> l.backwardSample() != null;
    private static final Predicate<TrainingLane> FORWARD = l -> l.forwardLeft() > 0;
    private static final Predicate<TrainingLane> WHOLE = l -> l.forwardLeft() > 0 && l.backwardSample() == null;

    private final Scheduler inference;
    private final LatencyModel latency;
    private final Policy policy;
    private final int tokenBudget;
    private final double idleLimitMs;
    private final int temporalEvery;
    private final double spatialShare;
    private final List<TrainingLane> lanes = new ArrayList<>();
    private int sinceWhole;
    /** When the iteration being planned starts. */
    private long now;
    private final Scheduler.PrefillCap sloChunks = this::sloChunk;
    private final TreeDrafting trees;

    /**
     * @param idleLimitMs   the longest iteration while no request runs (a request arriving waits for it)
     * @param temporalEvery {@link Policy#TEMPORAL}'s K
     * @param spatialShare  {@link Policy#SPATIAL}'s finetuning share of the token budget
     */
    public HybridScheduler(Scheduler inference, LatencyModel latency, Policy policy, int tokenBudget,
                           double idleLimitMs, int temporalEvery, double spatialShare) {
        this(inference, latency, policy, tokenBudget, idleLimitMs, temporalEvery, spatialShare, TreeDrafting.NONE);
    }

    /** As above, with speculative decoding: {@code trees} extends each iteration's decodes. */
    public HybridScheduler(Scheduler inference, LatencyModel latency, Policy policy, int tokenBudget,
                           double idleLimitMs, int temporalEvery, double spatialShare, TreeDrafting trees) {
        this.trees = trees;
        this.inference = inference;
        this.latency = latency;
        this.policy = policy;
        this.tokenBudget = tokenBudget;
        this.idleLimitMs = idleLimitMs;
        this.temporalEvery = temporalEvery;
        this.spatialShare = spatialShare;
    }

    public void add(TrainingLane lane) {
        lanes.add(lane);
    }

    public void remove(TrainingLane lane) {
        lanes.remove(lane);
    }

    /** Whether an iteration now would compute anything: requests, or a lane with a sample. */
    public boolean hasWork() {
        return inference.hasWork() && policy != Policy.FINETUNE_ONLY
                || pick(l -> l.forwardSample() != null || l.backwardSample() != null) != null;
    }

    /** Plans the iteration starting at {@code nowNanos} on the engine's clock. */
    public CoServingPlan plan(long nowNanos) {
        now = nowNanos;
        return switch (policy) {
            case INFERENCE_ONLY -> inferenceOnly(tokenBudget);
            case FINETUNE_ONLY -> whole().orElseGet(() -> nothing());
            case TEMPORAL -> temporal();
            case SPATIAL -> spatial();
            case COSERVE -> coserve();
        };
    }

    private CoServingPlan coserve() {
        IterationPlan chunks = inference.schedule(tokenBudget, sloChunks);
        double sloLimit = sloLimitMs(now);
        double limit = Math.min(idleLimitMs, sloLimit);
        Composition c = trees.draft(chunks, composition(chunks), !hasFinetuningWork());
        TrainingLane backward = pick(BACKWARD);
        Slice slice = backward == null ? null : backwardSlice(backward, c, limit, least(chunks));
        Composition withSlice = slice == null ? c : c.withBackward(slice.layers(), slice.rows());
        TrainingLane forward = pick(FORWARD);
        Window window = null;
        if (forward != null) {
            int room = Math.min(tokenBudget - c.forwardTokens(), forward.forwardLeft());
            int start = forward.forwardDone();
            int count = Math.min(room, Math.max(least(chunks), largest(room,
                    w -> latency.boundMs(withSlice.plusWindow(start, (int) w)) <= limit)));
            window = count > 0 ? new Window(forward, count) : null;
        }
        return planned(chunks, c, window, slice, null, sloLimit);
    }

    private boolean hasFinetuningWork() {
        return pick(l -> l.forwardLeft() > 0 || l.backwardSample() != null) != null;
    }

    /**
     * The prefill tokens an iteration with {@code decodes} may carry: as many as end it before the decoding
     * requests' next token is due; more only when the most urgent prompt would otherwise miss its first token's
     * deadline — then the fewest that still finish it in time; a prompt that cannot make it at any pace gets a
     * small chunk beside the decodes.
     */
    private int sloChunk(Composition decodes, Sequence urgent, int room) {
        long decodeDue = inference.earliestDecodeDue(MARGIN);
        if (decodeDue == Long.MAX_VALUE) {
            return room;
        }
        double limit = Math.max(0, (decodeDue - now) / 1e6);
        int start = urgent.computed();
        int prompt = urgent.uncomputed();
        int fits = largest(room, p -> latency.boundMs(decodes.plusPrefill(start, (int) p)) <= limit);
        if (fits >= Math.min(room, prompt)) {
            return fits;
        }
        // k chunks of prompt/k tokens take k · (decodes + prompt/k): the more chunks, the later the first token.
        // The pace aims at half the time left, since later arrivals and longer decodes will slow it down.
        double ttftLeft = PACE_SLACK * (urgent.dueNanos(MARGIN) - now) / 1e6;
        LongPredicate inTime = k -> k > 0 && k * latency.boundMs(decodes.plusPrefill(start,
                Math.ceilDiv(prompt, (int) k))) <= ttftLeft;
        int atTpotPace = fits == 0 ? Integer.MAX_VALUE : Math.ceilDiv(prompt, fits);
        if (inTime.test(atTpotPace)) {
            return fits;
        }
        int chunks = largest(Math.min(prompt, atTpotPace), inTime);
        // A prompt late whatever the pace keeps the running requests' TPOT and progresses a little at a time.
        return chunks == 0 ? Math.min(room, Math.max(fits, LATE_CHUNK)) : Math.min(room, Math.ceilDiv(prompt, chunks));
    }

    /**
     * The largest backward slice that ends the iteration within the limit: whole layers while the layer on top is
     * untouched and one fits, else the largest chunk of the layer's rows left (costed as one layer's weights and
     * that many layer-tokens), at least {@code least} rows.
     */
    private Slice backwardSlice(TrainingLane lane, Composition c, double limit, int least) {
        int length = lane.backwardSample().length();
        int left = lane.backwardRowsLeft();
        int layers = left < length ? 0
                : largest(lane.backwardTop(), n -> latency.boundMs(c.withBackward((int) n, length)) <= limit);
        if (layers > 0) {
            return Slice.ofLayers(lane, layers);
        }
        int rows = Math.max(least, largest(left, r -> latency.boundMs(c.withBackward(1, (int) r)) <= limit));
        return rows > 0 ? new Slice(lane, 1, rows) : null;
    }

    /**
     * The time until the most urgent request's next token is due (finetuning's margin); infinite without
     * requests, when only the idle limit bounds the iteration.
     */
    private double sloLimitMs(long now) {
        long due = inference.earliestDue(FINETUNE_MARGIN);
        return due == Long.MAX_VALUE ? Double.POSITIVE_INFINITY : Math.max(0, (due - now) / 1e6);
    }

    /**
     * One row of backward or one token of forward when the iteration has no inference, so that a job always
     * progresses: also when requests wait for KV blocks that the job's own samples hold.
     */
    private static int least(IterationPlan inference) {
        return inference.chunks().isEmpty() ? 1 : 0;
    }

    private CoServingPlan spatial() {
        int share = (int) Math.ceil(tokenBudget * spatialShare);
        IterationPlan chunks = inference.schedule(tokenBudget - share, sloChunks);
        TrainingLane backward = pick(BACKWARD);
        Slice slice = backward == null ? null : Slice.ofLayers(backward, Math.max(1, largest(backward.backwardTop(),
                n -> forwardEquivalent((int) n, backward.backwardSample().length()) <= share)));
        TrainingLane forward = pick(FORWARD);
        Window window = forward == null ? null : new Window(forward, Math.min(share, forward.forwardLeft()));
        return planned(chunks, composition(chunks), window, slice, null, Double.POSITIVE_INFINITY);
    }

    /** Forward tokens the latency model predicts to take as long as a backward slice of this size. */
    private double forwardEquivalent(int layers, int length) {
        double base = latency.predictMs(Composition.EMPTY);
        double perToken = latency.predictMs(Composition.EMPTY.plusWindow(0, 1)) - base;
        return (latency.predictMs(Composition.EMPTY.withBackward(layers, length)) - base) / Math.max(perToken, 1e-9);
    }

    private CoServingPlan temporal() {
        boolean due = sinceWhole >= temporalEvery || !inference.hasWork();
        Optional<CoServingPlan> whole = due ? whole() : Optional.empty();
        if (whole.isPresent()) {
            sinceWhole = 0;
            return whole.get();
        }
        sinceWhole++;
        return inferenceOnly(tokenBudget);
    }

    /** A whole sample of the lane with the least time used: its forward (what is left of it) and backward. */
    private Optional<CoServingPlan> whole() {
        TrainingLane lane = pick(WHOLE);
        if (lane == null) {
            return Optional.empty();
        }
        Composition c = Composition.EMPTY.plusWindow(lane.forwardDone(), lane.forwardLeft())
                .withBackward(lane.layers(), lane.forwardSample().length());
        double predicted = latency.predictMs(c);
        lane.charge(predicted);
        return Optional.of(new CoServingPlan(IterationPlan.EMPTY, null, null, lane, c, predicted,
                latency.boundMs(c), Double.POSITIVE_INFINITY, 0));
    }

    private CoServingPlan inferenceOnly(int budget) {
        IterationPlan chunks = inference.schedule(budget, sloChunks);
        return planned(chunks, trees.draft(chunks, composition(chunks), true), null, null, null,
                Double.POSITIVE_INFINITY);
    }

    private CoServingPlan nothing() {
        return planned(IterationPlan.EMPTY, Composition.EMPTY, null, null, null, Double.POSITIVE_INFINITY);
    }

    /** The plan, its prediction, and each lane charged for the time its work adds to the iteration. */
    private CoServingPlan planned(IterationPlan chunks, Composition inference, Window window, Slice slice,
                                  TrainingLane whole, double limit) {
        Composition sliceOnly = slice == null ? inference
                : inference.withBackward(slice.layers(), slice.rows());
        Composition windowOnly = window == null ? inference
                : inference.plusWindow(window.lane().forwardDone(), window.count());
        Composition c = window == null ? sliceOnly : sliceOnly.plusWindow(window.lane().forwardDone(), window.count());
        double predicted = latency.predictMs(c);
        if (window != null) {
            window.lane().charge(predicted - latency.predictMs(sliceOnly));
        }
        if (slice != null) {
            slice.lane().charge(predicted - latency.predictMs(windowOnly));
        }
        return new CoServingPlan(chunks, window, slice, whole, c, predicted, latency.boundMs(c), limit,
                waiting(window, slice));
    }

    /** Lanes with work that the plan gives none. */
    private int waiting(Window window, Slice slice) {
        int waiting = 0;
        for (TrainingLane lane : lanes) {
            boolean hasWork = lane.forwardLeft() > 0 || lane.backwardSample() != null;
            boolean served = window != null && window.lane() == lane || slice != null && slice.lane() == lane;
            waiting += hasWork && !served ? 1 : 0;
        }
        return waiting;
    }

    /** The lane with the least time used per weight among those {@code has} accepts, or null. */
    private TrainingLane pick(Predicate<TrainingLane> has) {
        TrainingLane best = null;
        for (TrainingLane lane : lanes) {
            if (has.test(lane) && (best == null || lane.served() < best.served())) {
                best = lane;
            }
        }
        return best;
    }

    /** The largest {@code n} in {@code [0, max]} that {@code fits} (which holds for every smaller n if for n). */
    private static int largest(int max, LongPredicate fits) {
        int lo = 0;
        int hi = max;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (fits.test(mid)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** Decode tokens (chunks of one token) and prefill chunks, with the keys their attention reads. */
    static Composition composition(IterationPlan chunks) {
        int decode = 0;
        int prefill = 0;
        long context = 0;
        for (ScheduledChunk chunk : chunks.chunks()) {
            if (chunk.isDecode()) {
                decode++;
            } else {
                prefill += chunk.count();
            }
            context += Composition.context(chunk.start(), chunk.count());
        }
        return new Composition(decode, prefill, 0, context, 0, 0);
    }
}
