package org.flexllm.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.schedule.CoServingPlan.Slice;

/**
 * The hybrid scheduler on a fake clock: no model runs; each plan is "executed" by advancing its sequences and
 * lanes, and the clock moves by what the plan "really" takes — the fixed latency model's prediction, or a truth of
 * the test's own that the scheduler's model must learn (it observes every iteration). Requests record when their
 * tokens came.
 */
final class CoServingSimulation implements AutoCloseable {
    static final int BUDGET = 256;
    static final double TPOT_MS = 20;
    static final double TTFT_MS = 400;
    /** 5 ms a pass, 1 ms a decode token, 0.1 ms a prefill or finetuning token, 0.1 ms a backward layer-token. */
    static final LatencyModel LATENCY = LinearLatencyModel.fixed(LinearLatencyModel.Coefficients.builder()
            .iteration(5).decodeToken(1).prefillToken(0.1).finetuneToken(0.1).backwardLayerToken(0.1).build());

    /** A request: its sequence, how many tokens it wants, and when they came (ms). */
    static final class Request {
        final Sequence sequence;
        final int outputTokens;
        final double arrivalMs;
        final List<Double> tokenMs = new ArrayList<>();

        Request(Sequence sequence, int outputTokens, double arrivalMs) {
            this.sequence = sequence;
            this.outputTokens = outputTokens;
            this.arrivalMs = arrivalMs;
        }

        boolean done() {
            return tokenMs.size() == outputTokens;
        }

        double ttftMs() {
            return tokenMs.getFirst() - arrivalMs;
        }

        double tpotMs() {
            return tokenMs.size() < 2 ? 0 : (tokenMs.getLast() - tokenMs.getFirst()) / (tokenMs.size() - 1);
        }
    }

    private final CpuBackend backend = new CpuBackend();
    private final LoadedModel model = LoadedModel.open("synthetic:tiny");
    private final CompiledModel compiled = CompiledModel.compile(backend, model.config(), model.weights(), List.of(),
            2 * BUDGET, 1024);
    final PagedKvCache kv = PagedKvCache.allocate(backend, model.config(), 16,
            PagedKvCache.bytesPerToken(model.config()) * 16 * 256);
    final Scheduler inference = new Scheduler(kv, 64);
    final HybridScheduler hybrid;
    final List<Request> requests = new ArrayList<>();
    private final List<TrainingLane> lanes = new ArrayList<>();
    double nowMs;
    int samplesCompleted;
    private long nextId;

    CoServingSimulation(Policy policy) {
        this(policy, LATENCY);
    }

    private final LatencyModel latency;
    private final ToDoubleFunction<Composition> truth;

    CoServingSimulation(Policy policy, LatencyModel latency) {
        this(policy, latency, latency::predictMs);
    }

    /** Plans with {@code latency}; an iteration of composition c takes {@code truth(c)}. */
    CoServingSimulation(Policy policy, LatencyModel latency, ToDoubleFunction<Composition> truth) {
        this.latency = latency;
        this.truth = truth;
        hybrid = new HybridScheduler(inference, latency, policy, BUDGET, TTFT_MS / 2, 4, 0.25);
    }

    Request submit(int promptTokens, int outputTokens) {
        return submit(promptTokens, outputTokens, nowMs);
    }

    /** A request that arrived at {@code arrivalMs} (its TTFT counts from then). */
    Request submit(int promptTokens, int outputTokens, double arrivalMs) {
        var s = new Sequence(nextId++, new int[promptTokens], promptTokens + outputTokens);
        s.setDeadlines(new Deadlines(nanos(arrivalMs), nanos(TTFT_MS), nanos(TPOT_MS)));
        inference.add(s);
        var r = new Request(s, outputTokens, arrivalMs);
        requests.add(r);
        return r;
    }

    TrainingLane lane(double weight) {
        var lane = new TrainingLane(weight, model.config().numLayers());
        hybrid.add(lane);
        lanes.add(lane);
        return lane;
    }

    TrainingSequence sample(int tokens) {
        return new TrainingSequence(new int[tokens], new int[tokens], compiled.newTape(2 * BUDGET), 0);
    }

    /** Plans an iteration now, without running it. */
    CoServingPlan plan() {
        return hybrid.plan(nanos(nowMs));
    }

    /** Runs a plan: sequences advance, finished prompts sample, lanes move on; then the clock moves. */
    void run(CoServingPlan plan) {
        double took = truth.applyAsDouble(plan.composition());
        latency.observe(plan.composition(), took);
        nowMs += took;
        for (ScheduledChunk c : plan.inference().chunks()) {
            c.sequence().advance(c.count());
            if (c.sequence().uncomputed() == 0) {
                sample(c.sequence());
            }
        }
        if (plan.window() != null) {
            plan.window().lane().forwarded(plan.window().count());
        }
        if (plan.slice() != null && plan.slice().lane().backwarded(plan.slice())) {
            samplesCompleted++;
        }
        if (plan.whole() != null) {
            plan.whole().forwarded(plan.whole().forwardLeft());
            samplesCompleted += plan.whole().backwarded(Slice.ofLayers(plan.whole(), plan.whole().layers())) ? 1 : 0;
        }
    }

    private void sample(Sequence s) {
        Request r = requests.stream().filter(q -> q.sequence == s).findFirst().orElseThrow();
        r.tokenMs.add(nowMs);
        s.markFirstToken(nanos(nowMs));
        if (r.done()) {
            inference.remove(s);
        } else {
            s.append(1);
        }
    }

    /** Gives every lane whose forward slot is free a sample of {@code tokens} tokens. */
    void refill(int tokens) {
        for (TrainingLane lane : lanes) {
            if (lane.wantsSample()) {
                lane.start(sample(tokens));
            }
        }
    }

    static long nanos(double ms) {
        return Math.round(ms * 1e6);
    }

    @Override
    public void close() throws Exception {
        backend.close();
        model.close();
    }
}
