package org.flexllm.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.flexllm.FlexLlmException;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Tape;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.graph.TrainingWindow;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.schedule.CoServingPlan.Slice;
import org.flexllm.schedule.CoServingPlan.Window;
import org.flexllm.schedule.HybridScheduler;
import org.flexllm.schedule.TrainingLane;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The finetuning jobs attached to an engine, on the engine thread: each job's lane, its samples' tapes and KV
 * blocks, and the forward windows, backward slices and whole samples the scheduler plans for them. A job that
 * fails (a non-finite loss, a bad sample) is detached with the reason; the engine and other jobs go on.
 */
final class TrainingJobs {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingJobs.class);

    /** A job: its source, lane, the samples in flight (by sequence) and the two tapes they use. */
    private record Job(TrainingSource source, TrainingLane lane, Map<TrainingSequence, TrainingSample> samples,
                       List<Tape> tapes) {
        Tape freeTape() {
            for (Tape t : tapes) {
                if (!inUse(t)) {
                    return t;
                }
            }
            throw new IllegalStateException("both tapes of finetuning job '" + source.name() + "' are in use");
        }

        private boolean inUse(Tape tape) {
            for (TrainingSequence s : samples.keySet()) {
                if (s.tape() == tape) {
                    return true;
                }
            }
            return false;
        }
    }

    private final CompiledModel model;
    private final PagedKvCache kv;
    private final HybridScheduler scheduler;
    private final BatchBuilder whole;
    private final int maxTokens;
    private final int tokenBudget;
    private final Deque<Tape> spareTapes = new ArrayDeque<>();
    private final List<Job> jobs = new ArrayList<>();
    private final Map<TrainingLane, Job> byLane = new HashMap<>();
    /** The jobs {@link #refill} goes through, copied since it may detach some; reused every iteration. */
    private final List<Job> refilling = new ArrayList<>();

    TrainingJobs(CompiledModel model, PagedKvCache kv, HybridScheduler scheduler, int maxTokens, int tokenBudget) {
        this.model = model;
        this.kv = kv;
        this.scheduler = scheduler;
        this.maxTokens = maxTokens;
        this.tokenBudget = tokenBudget;
        this.whole = new BatchBuilder(model.config(), kv, maxTokens);
    }

    void attach(TrainingSource source) {
        List<Tape> tapes = List.of(tape(), tape());
        Job job = new Job(source, new TrainingLane(source.weight(), model.config().numLayers()), new HashMap<>(),
                tapes);
        jobs.add(job);
        byLane.put(job.lane(), job);
        scheduler.add(job.lane());
    }

    private Tape tape() {
        return spareTapes.isEmpty() ? model.newTape(maxTokens) : spareTapes.pop();
    }

    /** Detaches jobs that asked to stop or are done, and gives every free lane its next sample. */
    void refill() {
        for (int i = 0; i < jobs.size(); i++) {
            refilling.add(jobs.get(i));
        }
        for (int i = 0; i < refilling.size(); i++) {
            Job job = refilling.get(i);
            try {
                if (job.source().stopRequested()) {
                    detach(job, new CancellationException("finetuning job '" + job.source().name() + "' was cancelled"));
                } else if (job.samples().isEmpty() && job.source().finished()) {
                    detach(job, null);
                } else if (job.lane().wantsSample() && !job.source().finished()) {
                    start(job);
                }
            } catch (RuntimeException e) {
                detach(job, e);
            }
        }
        refilling.clear();
    }

    /** Starts the job's next sample when it has one and the KV cache has room for all of it. */
    private void start(Job job) {
        int free = kv.blocks().free();
        int longest = job.source().maxSampleTokens();
        if (Math.ceilDiv(longest, kv.blockSize()) > free) {
            return;
        }
        TrainingSample sample = job.source().next();
        if (sample == null) {
            return;
        }
        if (sample.length() > maxTokens || sample.length() > longest) {
            throw new FlexLlmException("finetuning job '" + job.source().name() + "' gave a sample of "
                    + sample.length() + " tokens; its limit is " + Math.min(maxTokens, longest) + " tokens");
        }
        var sequence = new TrainingSequence(sample.ids(), sample.labels(), job.freeTape(), sample.dropoutSeed());
        sequence.blocks().growTo(sequence.length(), kv.blockSize(), kv.blocks());
        job.samples().put(sequence, sample);
        job.lane().start(sequence);
    }

    /** The planned window of its lane's sample; the batch builder places it after the inference rows. */
    TrainingWindow window(Window w) {
        TrainingSequence s = w.lane().forwardSample();
        return new TrainingWindow(s, 0, w.lane().forwardDone(), w.count(), lossWeight(w.lane(), s));
    }

    int adapter(TrainingLane lane) {
        return byLane.get(lane).source().adapterSlot();
    }

    private float lossWeight(TrainingLane lane, TrainingSequence s) {
        return byLane.get(lane).samples().get(s).lossWeight();
    }

    /** After the forward pass that carried the window. */
    void forwarded(Window w) {
        w.lane().forwarded(w.count());
    }

    /**
     * Runs a backward slice (whole layers, or a chunk of one layer's rows); returns the tokens of the sample it
     * completed, or 0.
     */
    int backward(Slice slice) {
        TrainingLane lane = slice.lane();
        TrainingSequence s = lane.backwardSample();
        var batch = whole.buildTraining(s, slice.firstRow(), slice.rows(), adapter(lane), lossWeight(lane, s), false);
        int top = lane.backwardTop();
        model.backward(batch, kv, s, top, top - slice.layers());
        return lane.backwarded(slice) ? complete(byLane.get(lane), s) : 0;
    }

    /** A lane's sample whole: what is left of its forward, in windows of the token budget, then its backward. */
    int runWhole(TrainingLane lane) {
        TrainingSequence s = lane.forwardSample();
        while (lane.forwardLeft() > 0) {
            int count = Math.min(tokenBudget, lane.forwardLeft());
            model.forward(whole.buildTraining(s, lane.forwardDone(), count, adapter(lane), lossWeight(lane, s), true),
                    kv, null);
            lane.forwarded(count);
        }
        return backward(Slice.ofLayers(lane, lane.layers()));
    }

    private int complete(Job job, TrainingSequence s) {
        TrainingSample sample = job.samples().remove(s);
        s.blocks().releaseAll(kv.blocks());
        try {
            job.source().completed(sample, s.loss());
        } catch (RuntimeException e) {
            detach(job, e);
        }
        return s.length();
    }

    /** Fails the job whose lane ran in a pass that threw. */
    void fail(TrainingLane lane, RuntimeException e) {
        Job job = byLane.get(lane);
        if (job != null) {
            detach(job, e);
        }
    }

    /** Detaches every job: the engine is closing. */
    void detachAll(Throwable cause) {
        List.copyOf(jobs).forEach(job -> detach(job, cause));
    }

    boolean isEmpty() {
        return jobs.isEmpty();
    }

    private void detach(Job job, Throwable cause) {
        if (!jobs.remove(job)) {
            return;
        }
        if (cause != null && !(cause instanceof CancellationException)) {
            LOG.warn("finetuning job '{}' stopped: {}", job.source().name(), cause.toString());
        }
        scheduler.remove(job.lane());
        byLane.remove(job.lane());
        job.lane().clear();
        job.samples().keySet().forEach(s -> s.blocks().releaseAll(kv.blocks()));
        job.samples().clear();
        spareTapes.addAll(job.tapes());
        try {
            job.source().detached(cause);
        } catch (RuntimeException e) {
            LOG.error("finetuning job '{}' failed while detaching", job.source().name(), e);
        }
    }
}
