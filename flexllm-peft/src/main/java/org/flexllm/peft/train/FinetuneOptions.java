package org.flexllm.peft.train;

import org.flexllm.graph.Pruning;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.optim.LrSchedule;

/**
 * How a finetuning job trains: the adapter to train and the loop's hyperparameters (HF Trainer's names and
 * defaults where it has them). Immutable; {@link #builder()} to make one.
 *
 * @param adapter         the adapter's method, rank, alpha, targets
 * @param optimizer       {@code SGD} (with momentum) or {@code ADAMW}
 * @param lr              the peak learning rate
 * @param momentum        SGD's momentum
 * @param weightDecay     decoupled weight decay (AdamW) or L2 (SGD)
 * @param beta1           AdamW's first-moment decay
 * @param beta2           AdamW's second-moment decay
 * @param eps             AdamW's epsilon
 * @param schedule        the learning rate over the steps
 * @param warmupSteps     linear warm-up steps at the start of the schedule
 * @param steps           optimizer steps to run; 0 to run {@code epochs} epochs instead
 * @param epochs          passes over the dataset when {@code steps} is 0
 * @param batchSize       samples per micro-batch
 * @param gradAccum       micro-batches per optimizer step
 * @param maxSeqLen       samples are truncated to this many tokens
 * @param seed            the data order's and the adapter initialisation's seed
 * @param checkpointEvery steps between checkpoints (0: only at the end)
 * @param maxGradNorm     global gradient-norm clipping (0: none)
 * @param pruning         what the forward keeps for the backward
 */
public record FinetuneOptions(AdapterConfig adapter, OptimizerKind optimizer, double lr, double momentum,
                              double weightDecay, double beta1, double beta2, double eps, LrSchedule.Decay schedule,
                              int warmupSteps, int steps, int epochs, int batchSize, int gradAccum, int maxSeqLen,
                              long seed, int checkpointEvery, double maxGradNorm, Pruning pruning) {

    /** The optimizers a job can use. */
    public enum OptimizerKind { SGD, ADAMW }

    public FinetuneOptions {
        positive("batch size", batchSize);
        positive("gradient accumulation", gradAccum);
        positive("max sequence length", maxSeqLen);
        if (steps < 0 || epochs < 0 || steps == 0 && epochs == 0) {
            throw new IllegalArgumentException("give a positive number of steps or epochs, not steps " + steps
                    + " and epochs " + epochs);
        }
        if (!(lr > 0) || checkpointEvery < 0 || warmupSteps < 0 || maxGradNorm < 0) {
            throw new IllegalArgumentException("lr must be positive and checkpoint-every, warm-up and max-grad-norm"
                    + " non-negative: lr " + lr + ", checkpoint every " + checkpointEvery + ", warm-up "
                    + warmupSteps + ", max grad norm " + maxGradNorm);
        }
    }

    private static void positive(String what, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(what + " must be at least 1, is " + value);
        }
    }

    /** Optimizer steps a job on {@code examples} samples runs: {@code steps}, or its epochs' worth. */
    public int totalSteps(int examples) {
        return steps > 0 ? steps : (int) Math.ceilDiv((long) epochs * examples, samplesPerStep());
    }

    /** Samples per optimizer step. */
    public int samplesPerStep() {
        return batchSize * gradAccum;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds {@link FinetuneOptions}. Defaults: AdamW (β 0.9, 0.999, ε 1e-8, no decay) at lr 2e-4 as PEFT's LoRA
     * recipes use, constant schedule, one epoch of single samples up to 512 tokens, gradient norm clipped at 1.
     */
    public static final class Builder {
        private AdapterConfig adapter;
        private OptimizerKind optimizer = OptimizerKind.ADAMW;
        private double lr = 2e-4;
        private double momentum = 0;
        private double weightDecay = 0;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private LrSchedule.Decay schedule = LrSchedule.Decay.CONSTANT;
        private int warmupSteps;
        private int steps;
        private int epochs = 1;
        private int batchSize = 1;
        private int gradAccum = 1;
        private int maxSeqLen = 512;
        private long seed = 42;
        private int checkpointEvery;
        private double maxGradNorm = 1.0;
        private Pruning pruning = Pruning.PRUNED;

        private Builder() {}

        public Builder adapter(AdapterConfig adapter) { this.adapter = adapter; return this; }
        public Builder optimizer(OptimizerKind optimizer) { this.optimizer = optimizer; return this; }
        public Builder lr(double lr) { this.lr = lr; return this; }
        public Builder momentum(double momentum) { this.momentum = momentum; return this; }
        public Builder weightDecay(double weightDecay) { this.weightDecay = weightDecay; return this; }
        public Builder betas(double beta1, double beta2) { this.beta1 = beta1; this.beta2 = beta2; return this; }
        public Builder eps(double eps) { this.eps = eps; return this; }
        public Builder schedule(LrSchedule.Decay schedule, int warmupSteps) {
            this.schedule = schedule;
            this.warmupSteps = warmupSteps;
            return this;
        }
        /** Runs exactly this many optimizer steps (overrides epochs). */
        public Builder steps(int steps) { this.steps = steps; return this; }
        public Builder epochs(int epochs) { this.epochs = epochs; this.steps = 0; return this; }
        public Builder batchSize(int batchSize) { this.batchSize = batchSize; return this; }
        public Builder gradAccum(int gradAccum) { this.gradAccum = gradAccum; return this; }
        public Builder maxSeqLen(int maxSeqLen) { this.maxSeqLen = maxSeqLen; return this; }
        public Builder seed(long seed) { this.seed = seed; return this; }
        public Builder checkpointEvery(int steps) { this.checkpointEvery = steps; return this; }
        public Builder maxGradNorm(double maxGradNorm) { this.maxGradNorm = maxGradNorm; return this; }
        public Builder pruning(Pruning pruning) { this.pruning = pruning; return this; }

        public FinetuneOptions build() {
            if (adapter == null) {
                throw new IllegalStateException("no adapter config: call adapter(AdapterConfig)");
            }
            return new FinetuneOptions(adapter, optimizer, lr, momentum, weightDecay, beta1, beta2, eps, schedule,
                    warmupSteps, steps, epochs, batchSize, gradAccum, maxSeqLen, seed, checkpointEvery, maxGradNorm,
                    pruning);
        }
    }
}
