package org.flexllm.examples.bench;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.flexllm.engine.IterationRecord;

/**
 * Collects, on the engine thread, every iteration's record with the time it ended. The time is taken here rather
 * than from the record, whose clock starts with the engine, not with the run. Keeping the engine's own record
 * costs a queue node per iteration, not per token.
 */
final class IterationLog implements Consumer<IterationRecord> {
    private record Ended(long nanos, IterationRecord record) {}

    private final Queue<Ended> ended = new ConcurrentLinkedQueue<>();

    @Override
    public void accept(IterationRecord record) {
        ended.add(new Ended(System.nanoTime(), record));
    }

    /**
     * The iterations that completed finetuning samples between {@code startNanos} and {@code endNanos}, in seconds
     * after the start.
     */
    List<FinetuneProgress> finetune(long startNanos, long endNanos) {
        return between(startNanos, endNanos).filter(e -> e.record().finetuneCompleted() > 0)
                .map(e -> new FinetuneProgress((e.nanos() - startNanos) / 1e9, e.record().finetuneCompleted()))
                .toList();
    }

    /**
     * The predicted, measured and allowed latencies of the iterations that ended between {@code startNanos} and
     * {@code endNanos}; iterations measured at 0 ms (below the clock's resolution) have no relative error and are
     * left out.
     */
    List<IterationTiming> timings(long startNanos, long endNanos) {
        return between(startNanos, endNanos).map(Ended::record).filter(r -> r.measuredMs() > 0)
                .map(r -> new IterationTiming(r.predictedMs(), r.measuredMs(), r.limitMs(), r.finetuned())).toList();
    }

    private Stream<Ended> between(long startNanos, long endNanos) {
        return ended.stream().filter(e -> e.nanos() >= startNanos && e.nanos() <= endNanos);
    }
}
