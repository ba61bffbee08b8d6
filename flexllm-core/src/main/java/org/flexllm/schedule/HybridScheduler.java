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
 * <p>{@link Policy#COSERVE}: inference first (decodes, then prefill chunks by earliest deadline, within the
 * token budget); then a backward slice and a forward window, each the largest whose iteration the latency model
 * predicts to end before the most urgent request's next token is due. A request's next token is due by its TTFT
 * while it has none, else at {@code first + n · TPOT}: a request that ran ahead of its TPOT has banked slack a
 * long backward slice may spend, one that fell behind leaves finetuning nothing. With no request at all,
 * finetuning takes the whole budget, in iterations of at most a quarter of the default TTFT so that a request arriving
 * meanwhile still meets it (but at least one backward layer, so that a job always progresses while no request
 * runs, or when a backward has waited long: the latency model may be wrong about it).
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
     * Finetuning plans to meet the targets scaled by this: the latency model's error, and iterations that are
     * inference alone and slower than the TPOT, must not cost a deadline.
     */
    private static final double MARGIN = 0.85;
    /** Iterations a lane may wait for room before a layer or a token of its work runs regardless. */
    private static final int PATIENCE = 64;

    private final Scheduler inference;
    private final LatencyModel latency;
    private final Policy policy;
    private final int tokenBudget;
    private final double idleLimitMs;
    private final int temporalEvery;
    private final double spatialShare;
    private final List<TrainingLane> lanes = new ArrayList<>();
    private int sinceWhole;

    /**
     * @param idleLimitMs   the longest iteration while no request runs (a request arriving waits for it)
     * @param temporalEvery {@link Policy#TEMPORAL}'s K
     * @param spatialShare  {@link Policy#SPATIAL}'s finetuning share of the token budget
     */
    public HybridScheduler(Scheduler inference, LatencyModel latency, Policy policy, int tokenBudget,
                           double idleLimitMs, int temporalEvery, double spatialShare) {
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
                || lanes.stream().anyMatch(l -> l.forwardSample() != null || l.backwardSample() != null);
    }

    /** Plans the iteration starting at {@code nowNanos} on the engine's clock. */
    public CoServingPlan plan(long nowNanos) {
        return switch (policy) {
            case INFERENCE_ONLY -> inferenceOnly(tokenBudget);
            case FINETUNE_ONLY -> whole().orElseGet(() -> nothing());
            case TEMPORAL -> temporal();
            case SPATIAL -> spatial();
            case COSERVE -> coserve(nowNanos);
        };
    }

    private CoServingPlan coserve(long now) {
        IterationPlan chunks = inference.schedule(tokenBudget);
        double limit = limitMs(now);
        Composition c = composition(chunks);
        Slice slice = pick(l -> l.backwardSample() != null)
                .map(lane -> new Slice(lane, Math.max(least(lane), largest(lane.backwardTop(),
                        n -> latency.predictMs(c.withBackward(n * lane.backwardSample().length())) <= limit))))
                .filter(s -> s.layers() > 0).orElse(null);
        Composition withSlice = slice == null ? c : c.withBackward(layerTokens(slice));
        int room = tokenBudget - c.forwardTokens();
        Window window = pick(l -> l.forwardLeft() > 0)
                .map(lane -> new Window(lane, Math.min(room, Math.max(least(lane), largest(Math.min(room,
                        lane.forwardLeft()), w -> latency.predictMs(withSlice.withFinetune((int) w)) <= limit)))))
                .filter(w -> w.count() > 0).orElse(null);
        lanes.forEach(l -> l.waited(slice != null && slice.lane() == l || window != null && window.lane() == l));
        return planned(chunks, window, slice, null, limit);
    }

    /**
     * One layer of backward or one token of forward when no request runs, or when the lane has waited
     * {@link #PATIENCE} iterations for any work: a latency model that overestimates finetuning (profiled on a
     * cold JIT, or misled by an outlier) learns what it costs only by running some.
     */
    private int least(TrainingLane lane) {
        return !inference.hasWork() || lane.waitedIterations() >= PATIENCE ? 1 : 0;
    }

    /** The time until the most urgent request's next token is due (with a margin), the idle limit at most. */
    private double limitMs(long now) {
        long due = inference.earliestDue(MARGIN);
        return due == Long.MAX_VALUE ? idleLimitMs : Math.min(idleLimitMs, Math.max(0, (due - now) / 1e6));
    }

    private CoServingPlan spatial() {
        int share = (int) Math.ceil(tokenBudget * spatialShare);
        IterationPlan chunks = inference.schedule(tokenBudget - share);
        Slice slice = pick(l -> l.backwardSample() != null)
                .map(lane -> new Slice(lane, Math.max(1, largest(lane.backwardTop(),
                        n -> forwardEquivalent(n * lane.backwardSample().length()) <= share))))
                .orElse(null);
        Window window = pick(l -> l.forwardLeft() > 0)
                .map(lane -> new Window(lane, Math.min(share, lane.forwardLeft()))).orElse(null);
        return planned(chunks, window, slice, null, Double.POSITIVE_INFINITY);
    }

    /** Forward tokens the latency model predicts to take as long as {@code layerTokens} of backward. */
    private double forwardEquivalent(long layerTokens) {
        double base = latency.predictMs(Composition.EMPTY);
        double perToken = latency.predictMs(Composition.EMPTY.withFinetune(1)) - base;
        return (latency.predictMs(Composition.EMPTY.withBackward(layerTokens)) - base) / Math.max(perToken, 1e-9);
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
        return pick(l -> l.forwardLeft() > 0 && l.backwardSample() == null).map(lane -> {
            int length = lane.forwardSample().length();
            Composition c = Composition.EMPTY.withFinetune(lane.forwardLeft())
                    .withBackward((long) lane.layers() * length);
            double predicted = latency.predictMs(c);
            lane.charge(predicted);
            return new CoServingPlan(IterationPlan.EMPTY, null, null, lane, c, predicted, Double.POSITIVE_INFINITY);
        });
    }

    private CoServingPlan inferenceOnly(int budget) {
        return planned(inference.schedule(budget), null, null, null, Double.POSITIVE_INFINITY);
    }

    private CoServingPlan nothing() {
        return planned(IterationPlan.EMPTY, null, null, null, Double.POSITIVE_INFINITY);
    }

    private CoServingPlan planned(IterationPlan chunks, Window window, Slice slice, TrainingLane whole,
                                  double limit) {
        Composition c = composition(chunks).withFinetune(window == null ? 0 : window.count())
                .withBackward(slice == null ? 0 : layerTokens(slice));
        double predicted = latency.predictMs(c);
        if (window != null) {
            window.lane().charge(predicted - latency.predictMs(c.withFinetune(0)));
        }
        if (slice != null) {
            slice.lane().charge(predicted - latency.predictMs(c.withBackward(0)));
        }
        return new CoServingPlan(chunks, window, slice, whole, c, predicted, limit);
    }

    private static long layerTokens(Slice s) {
        return (long) s.layers() * s.lane().backwardSample().length();
    }

    /** The lane with the least time used per weight among those {@code has} accepts. */
    private Optional<TrainingLane> pick(Predicate<TrainingLane> has) {
        return lanes.stream().filter(has).min(Comparator.comparingDouble(TrainingLane::served));
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

    /** Decode tokens (chunks of one token) with their context, and prefill tokens. */
    static Composition composition(IterationPlan chunks) {
        int decode = 0;
        long context = 0;
        int prefill = 0;
        for (ScheduledChunk chunk : chunks.chunks()) {
            if (chunk.count() == 1) {
                decode++;
                context += chunk.start() + 1;
            } else {
                prefill += chunk.count();
            }
        }
        return new Composition(decode, context, prefill, 0, 0);
    }
}
