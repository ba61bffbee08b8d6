package org.flexllm.peft.train;

import java.util.List;
import org.flexllm.backend.Backend;
import org.flexllm.engine.TrainingSample;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.data.DataOrder;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.optim.AdamW;
import org.flexllm.peft.optim.GradientClipping;
import org.flexllm.peft.optim.LrSchedule;
import org.flexllm.peft.optim.Optimizer;
import org.flexllm.peft.optim.Sgd;

/**
 * A job's optimizer steps, whoever runs their samples (the job's own thread or a co-serving engine): the k-th
 * sample of the data order with its step's loss weight and its dropout seed, the step's loss summed as its
 * samples complete, and at its last sample the global-norm clip, the finiteness check, the optimizer step and
 * zeroed gradients. The sample of the k-th slot overall is a pure function of (seed, k), so a resumed job sees
 * the data in the same order and draws the same dropout masks. Samples are handed out one step at a time and
 * complete in the order they were handed out. Not thread-safe: one thread at a time runs the job.
 */
final class Steps {
    private final FinetuneOptions options;
    private final List<TrainingExample> data;
    private final DataOrder order;
    private final Backend backend;
    private final List<Parameter> parameters;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final int total;
    private final long samplesPerStep;
    private long handedOut;
    private long completed;
    private double loss;
    private int tokens;
    private long stepStart;

    /**
     * @param backend    where the parameters are: it clips, steps and zeroes them
     * @param firstStep steps done before (by the checkpoint a job resumes from)
     */
    Steps(List<TrainingExample> data, FinetuneOptions options, Backend backend, List<Parameter> parameters,
          int firstStep) {
        this.options = options;
        this.data = List.copyOf(data);
        this.order = new DataOrder(options.seed(), data.size());
        this.backend = backend;
        this.parameters = parameters;
        this.optimizer = switch (options.optimizer()) {
            case SGD -> new Sgd(backend, parameters, options.momentum(), options.weightDecay());
            case ADAMW -> new AdamW(backend, parameters, options.beta1(), options.beta2(), options.eps(),
                    options.weightDecay());
        };
        this.samplesPerStep = options.samplesPerStep();
        this.total = options.totalSteps(data.size());
        this.schedule = new LrSchedule(options.schedule(), options.lr(), options.warmupSteps(), total);
        this.handedOut = firstStep * samplesPerStep;
        this.completed = handedOut;
    }

    /** Steps the job runs in all, those before a resume included. */
    int total() {
        return total;
    }

    /** The most tokens a sample has: the job's {@code maxSeqLen}. */
    int maxSampleTokens() {
        return options.maxSeqLen();
    }

    /** Steps completed so far, those before a resume included. */
    int done() {
        return (int) (completed / samplesPerStep);
    }

    /** Whether every sample of the last step has been handed out. */
    boolean allHandedOut() {
        return handedOut == total * samplesPerStep;
    }

    /**
     * The next sample, or null when every sample is handed out, or when the next one opens a step while samples
     * of the current one are still running: its parameters do not exist until they complete.
     */
    TrainingSample next() {
        boolean opensStep = handedOut % samplesPerStep == 0;
        if (allHandedOut() || opensStep && completed < handedOut) {
            return null;
        }
        if (opensStep) {
            stepStart = System.nanoTime();
        }
        long k = handedOut++;
        TrainingExample e = example(k);
        return new TrainingSample(e.inputIds(), e.labels(), lossWeight(k / samplesPerStep), dropoutSeed(k));
    }

    /** Whether the next sample to complete is its step's last: its completion steps the optimizer. */
    boolean endsStep() {
        return (completed + 1) % samplesPerStep == 0;
    }

    /**
     * Counts a sample whose gradients are in; after the step's last sample, ends the step.
     *
     * @param sampleLoss the sample's weighted loss
     * @return the step's record when this sample ended it, else null
     * @throws NanLossException when the step's loss or gradient norm is not finite (the optimizer did not step)
     */
    StepRecord completed(TrainingSample sample, double sampleLoss) {
        loss += sampleLoss;
        tokens += sample.length();
        StepRecord record = endsStep() ? endStep(done()) : null;
        completed++; // after the step, so that a step that failed does not count as done
        return record;
    }

    private StepRecord endStep(int step) {
        double norm = options.maxGradNorm() > 0
                ? GradientClipping.clipGlobalNorm(backend, parameters, options.maxGradNorm())
                : GradientClipping.globalNorm(backend, parameters);
        if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
            throw new NanLossException(step + 1, loss, norm);
        }
        double lr = schedule.lr(step);
        optimizer.step(lr);
        zeroGradients();
        double seconds = (System.nanoTime() - stepStart) / 1e9;
        StepRecord record = new StepRecord(step + 1, loss, lr, norm, tokens, tokens / seconds);
        loss = 0;
        tokens = 0;
        return record;
    }

    /** Zeroes the gradients: after a step, or to drop the part of an unfinished step that reached them. */
    void zeroGradients() {
        parameters.forEach(p -> backend.zero(p.grad(), p.count()));
    }

    Backend backend() {
        return backend;
    }

    Optimizer optimizer() {
        return optimizer;
    }

    /** The k-th sample of the job's data order: epoch k / size, place k % size in that epoch's shuffle. */
    private TrainingExample example(long k) {
        int[] epoch = order.epoch(k / data.size());
        return data.get(epoch[(int) (k % data.size())]);
    }

    /** Each target's weight in the loss: the mean over all targets of the step's samples. */
    private float lossWeight(long step) {
        int targets = 0;
        for (long k = step * samplesPerStep; k < (step + 1) * samplesPerStep; k++) {
            targets += example(k).targets();
        }
        return 1f / Math.max(1, targets);
    }

    /** The k-th sample of the job's data order draws its dropout masks from this seed. */
    private long dropoutSeed(long k) {
        return options.seed() * 0x9E3779B97F4A7C15L + k;
    }
}
