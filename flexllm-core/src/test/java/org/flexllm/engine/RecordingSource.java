package org.flexllm.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;

/** A finetuning job for engine tests: fixed samples, no parameters; it records what the engine did with it. */
final class RecordingSource implements TrainingSource {
    private final Queue<TrainingSample> samples;
    private final int maxTokens;
    private final double weight;
    final List<Double> losses = Collections.synchronizedList(new ArrayList<>());
    final CompletableFuture<Throwable> detached = new CompletableFuture<>();
    volatile boolean stop;
    volatile RuntimeException failOnComplete;
    private int detachCalls;

    RecordingSource(List<TrainingSample> samples, double weight) {
        this.weight = weight;
        this.samples = new ArrayDeque<>(samples);
        this.maxTokens = samples.stream().mapToInt(TrainingSample::length).max().orElse(1);
    }

    /** {@code count} samples of {@code length} tokens, every position trained. */
    static RecordingSource of(int count, int length, int vocab) {
        return of(count, length, vocab, 1);
    }

    /** As {@link #of(int, int, int)}, with a share of finetuning time of {@code weight}. */
    static RecordingSource of(int count, int length, int vocab, double weight) {
        List<TrainingSample> samples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] ids = new int[length];
            for (int p = 0; p < length; p++) {
                ids[p] = 1 + (i * 31 + p * 7) % (vocab - 1);
            }
            samples.add(new TrainingSample(ids, ids.clone(), 1f / (length - 1), i));
        }
        return new RecordingSource(samples, weight);
    }

    @Override public String name() { return "recording"; }
    @Override public int adapterSlot() { return -1; }
    @Override public int maxSampleTokens() { return maxTokens; }
    @Override public double weight() { return weight; }

    @Override
    public synchronized TrainingSample next() {
        return samples.poll();
    }

    @Override
    public void completed(TrainingSample sample, double loss) {
        if (failOnComplete != null) {
            throw failOnComplete;
        }
        losses.add(loss);
    }

    @Override
    public synchronized boolean finished() {
        return samples.isEmpty();
    }

    @Override
    public boolean stopRequested() {
        return stop;
    }

    @Override
    public synchronized void detached(Throwable cause) {
        detachCalls++;
        detached.complete(cause);
    }

    synchronized int detachCalls() {
        return detachCalls;
    }
}
