package org.flexllm.examples.bench;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import org.flexllm.engine.IterationRecord;

/**
 * Collects, on the engine thread, when iterations that completed finetuning samples ended. The time is taken
 * here rather than from the record, whose clock starts with the engine, not with the run.
 */
final class IterationLog implements Consumer<IterationRecord> {
    private record Ended(long nanos, int tokens) {}

    private final Queue<Ended> ended = new ConcurrentLinkedQueue<>();

    @Override
    public void accept(IterationRecord record) {
        if (record.finetuneCompleted() > 0) {
            ended.add(new Ended(System.nanoTime(), record.finetuneCompleted()));
        }
    }

    /** The iterations that ended between {@code startNanos} and {@code endNanos}, in seconds after the start. */
    List<FinetuneProgress> between(long startNanos, long endNanos) {
        return ended.stream().filter(e -> e.nanos() >= startNanos && e.nanos() <= endNanos)
                .map(e -> new FinetuneProgress((e.nanos() - startNanos) / 1e9, e.tokens())).toList();
    }
}
