package org.flexllm.schedule;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import org.flexllm.kv.BlockAllocator;
import org.flexllm.kv.BlockTable;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.schedule.IterationPlan.Rejection;

/**
 * Inference's share of an iteration: a token budget handed out decode first (one token to every running
 * sequence that has sampled its last token), then to running sequences still in their prompt (chunked
 * prefill), then to waiting sequences, prefill by earliest deadline (the TTFT target; arrival order among
 * equal targets). When the KV cache runs out of blocks the
 * newest running sequence is preempted: its blocks are freed and it is recomputed when it is scheduled again.
 * A sequence is rejected only when it could not fit even with the whole cache to itself.
 */
public final class Scheduler {
    private static final Comparator<Sequence> EARLIEST_DUE = Comparator.comparingLong((Sequence s) -> s.dueNanos())
            .thenComparingLong(Sequence::id);
    private final PagedKvCache kv;
    private final int maxSequences;
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(EARLIEST_DUE);
    private final List<Sequence> running = new ArrayList<>();

    public Scheduler(PagedKvCache kv, int maxSequences) {
        this.kv = kv;
        this.maxSequences = maxSequences;
    }

    /** Queues a new sequence. */
    public void add(Sequence sequence) {
        waiting.add(sequence);
    }

    /** Forgets a finished or cancelled sequence and frees its blocks. */
    public void remove(Sequence sequence) {
        if (!running.remove(sequence)) {
            waiting.remove(sequence);
        }
        sequence.blocks().releaseAll(kv.blocks());
    }

    public boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    public int waiting() {
        return waiting.size();
    }

    /**
     * When the most urgent running or waiting sequence's next token is due, its targets scaled by
     * {@code margin} ({@link Sequence#dueNanos(double)}), or {@code Long.MAX_VALUE} when there is none.
     */
    public long earliestDue(double margin) {
        long due = Long.MAX_VALUE;
        for (Sequence s : running) {
            due = Math.min(due, s.dueNanos(margin));
        }
        for (Sequence s : waiting) {
            due = Math.min(due, s.dueNanos(margin));
        }
        return due;
    }

    /** Plans one iteration of at most {@code budget} tokens. */
    public IterationPlan schedule(int budget) {
        Round round = new Round(budget);
        List<Sequence> decodesFirst = running.stream()
                .sorted(Comparator.comparing((Sequence s) -> s.uncomputed() > 1).thenComparing(EARLIEST_DUE)).toList();
        for (Sequence s : decodesFirst) {
            if (running.contains(s)) {
                round.scheduleRunning(s);
            }
        }
        // After a preemption the cache is full: admitting now would only evict the newcomer again.
        while (round.preempted.isEmpty() && round.budget > 0 && running.size() < maxSequences
                && !waiting.isEmpty() && round.admit(waiting.peek())) {
            running.add(waiting.poll());
        }
        return new IterationPlan(List.copyOf(round.chunks.values()), round.preempted, round.rejected);
    }

    /** The bookkeeping of one {@link #schedule} call. */
    private final class Round {
        int budget;
        final Map<Sequence, ScheduledChunk> chunks = new LinkedHashMap<>();
        final List<Sequence> preempted = new ArrayList<>();
        final List<Rejection> rejected = new ArrayList<>();

        Round(int budget) {
            this.budget = budget;
        }

        void scheduleRunning(Sequence s) {
            int count = Math.min(s.uncomputed(), budget);
            if (count > 0 && makeRoom(s, s.computed() + count)) {
                add(s, count);
            }
        }

        /** Admits a waiting sequence if its first chunk fits without preempting anyone. */
        boolean admit(Sequence s) {
            if (!fitsAlone(s)) {
                waiting.poll();
                reject(s);
                return !waiting.isEmpty() && admit(waiting.peek());
            }
            int count = Math.min(s.uncomputed(), budget);
            if (s.blocks().missingFor(s.computed() + count, kv.blockSize()) > kv.blocks().free()) {
                return false;
            }
            add(s, count);
            return true;
        }

        private void add(Sequence s, int count) {
            s.blocks().growTo(s.computed() + count, kv.blockSize(), kv.blocks());
            chunks.put(s, new ScheduledChunk(s, s.computed(), count));
            budget -= count;
        }

        /** Frees blocks for {@code s} to hold {@code tokens}, preempting newer sequences; false if it lost. */
        private boolean makeRoom(Sequence s, int tokens) {
            BlockAllocator blocks = kv.blocks();
            while (s.blocks().missingFor(tokens, kv.blockSize()) > blocks.free()) {
                Sequence victim = newestRunning();
                if (victim == s && running.size() == 1) {
                    running.remove(s);
                    reject(s);
                    return false;
                }
                preempt(victim);
                if (victim == s) {
                    return false;
                }
            }
            return true;
        }

        private void preempt(Sequence victim) {
            ScheduledChunk planned = chunks.remove(victim);
            if (planned != null) {
                budget += planned.count();
            }
            running.remove(victim);
            victim.evict(kv.blocks());
            waiting.add(victim);
            preempted.add(victim);
        }

        private void reject(Sequence s) {
            s.blocks().releaseAll(kv.blocks());
            rejected.add(new Rejection(s, "the sequence needs " + BlockTable.ceilDiv(s.length(), kv.blockSize())
                    + " KV blocks of " + kv.blockSize() + " tokens (" + s.length() + " tokens) but the whole cache"
                    + " holds " + kv.blocks().capacity() + " blocks; raise the KV cache memory or shorten the"
                    + " request"));
        }

        private boolean fitsAlone(Sequence s) {
            return BlockTable.ceilDiv(s.length(), kv.blockSize()) <= kv.blocks().capacity();
        }

        private Sequence newestRunning() {
            return running.stream().max(Comparator.comparingLong(Sequence::id)).orElseThrow();
        }
    }
}
