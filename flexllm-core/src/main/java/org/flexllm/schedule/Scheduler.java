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
 * equal targets). How many prefill tokens may join the decodes is the caller's {@link PrefillCap}'s choice,
 * made once the decodes are known. When the KV cache runs out of blocks the
 * newest running sequence is preempted: its blocks are freed and it is recomputed when it is scheduled again.
 * A sequence is rejected only when it could not fit even with the whole cache to itself.
 */
public final class Scheduler {
    private static final Comparator<Sequence> EARLIEST_DUE = Comparator.comparingLong((Sequence s) -> s.dueNanos())
            .thenComparingLong(Sequence::id);
    private static final Comparator<Sequence> DECODES_FIRST =
            Comparator.comparing((Sequence s) -> s.uncomputed() > 1).thenComparing(EARLIEST_DUE);
    private final PagedKvCache kv;
    private final int maxSequences;
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(EARLIEST_DUE);
    private final List<Sequence> running = new ArrayList<>();
    /** The running sequences in the order they are served; reused every iteration. */
    private final List<Sequence> ordered = new ArrayList<>();
    /** The bookkeeping of the iteration being planned; reused every iteration. */
    private final Round round = new Round();

    /** How many prefill tokens an iteration may carry beside its decodes. */
    @FunctionalInterface
    public interface PrefillCap {
        /** No cap: prefill takes what the decodes leave of the budget. */
        PrefillCap NONE = (decodes, urgent, room) -> room;

        /**
         * @param decodes the iteration's decode tokens and their context
         * @param urgent  the running or waiting sequence in its prompt whose first token is due first
         * @param room    what the decodes leave of the token budget
         * @return prefill tokens allowed, at most {@code room}
         */
        int tokens(Composition decodes, Sequence urgent, int room);
    }

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

    /**
     * When the most urgent running sequence past its prompt is due its next token (targets scaled by
     * {@code margin}), or {@code Long.MAX_VALUE} when none is decoding.
     */
    public long earliestDecodeDue(double margin) {
        long due = Long.MAX_VALUE;
        for (Sequence s : running) {
            if (s.uncomputed() <= 1) {
                due = Math.min(due, s.dueNanos(margin));
            }
        }
        return due;
    }

    /** Plans one iteration of at most {@code budget} tokens, prefill taking all the decodes leave. */
    public IterationPlan schedule(int budget) {
        return schedule(budget, PrefillCap.NONE);
    }

    /** Plans one iteration of at most {@code budget} tokens, of which {@code cap} decides the prefill tokens. */
    public IterationPlan schedule(int budget, PrefillCap cap) {
        round.start(budget);
        ordered.clear();
        ordered.addAll(running);
        ordered.sort(DECODES_FIRST);
        int prefills = 0;
        while (prefills < ordered.size() && ordered.get(prefills).uncomputed() <= 1) {
            round.scheduleRunning(ordered.get(prefills++));
        }
        Sequence urgent = mostUrgentPrefill(prefills);
        round.prefillLeft = urgent == null ? 0 : cap.tokens(round.decodes(), urgent, round.budget);
        for (int i = prefills; i < ordered.size(); i++) {
            round.scheduleRunning(ordered.get(i));
        }
        // After a preemption the cache is full: admitting now would only evict the newcomer again.
        while (round.preempted.isEmpty() && round.budget > 0 && round.prefillLeft > 0
                && running.size() < maxSequences && !waiting.isEmpty() && round.admit(waiting.peek())) {
            running.add(waiting.poll());
        }
        return new IterationPlan(List.copyOf(round.chunks.values()), round.preempted, round.rejected);
    }

    /** The first of the running sequences in their prompt (ordered from {@code from} by due) or waiting ones. */
    private Sequence mostUrgentPrefill(int from) {
        Sequence running = from < ordered.size() ? ordered.get(from) : null;
        Sequence queued = waiting.peek();
        if (running == null || queued == null) {
            return running == null ? queued : running;
        }
        return EARLIEST_DUE.compare(running, queued) <= 0 ? running : queued;
    }

    /** The bookkeeping of one {@link #schedule} call. */
    private final class Round {
        int budget;
        /** Prefill tokens still allowed; unlimited while the decodes are scheduled. */
        int prefillLeft;
        int decodeTokens;
        long decodeContext;
        final Map<Sequence, ScheduledChunk> chunks = new LinkedHashMap<>();
        final List<Sequence> preempted = new ArrayList<>();
        final List<Rejection> rejected = new ArrayList<>();

        void start(int budget) {
            this.budget = budget;
            prefillLeft = Integer.MAX_VALUE;
            decodeTokens = 0;
            decodeContext = 0;
            chunks.clear();
            preempted.clear();
            rejected.clear();
        }

        /** The decodes scheduled so far, as the latency model sees them. */
        Composition decodes() {
            return new Composition(decodeTokens, 0, 0, decodeContext, 0, 0);
        }

        void scheduleRunning(Sequence s) {
            if (!running.contains(s)) {
                return;
            }
            int count = allowance(s);
            if (count > 0 && makeRoom(s, s.computed() + count)) {
                add(s, count);
            }
        }

        /** What {@code s} may compute: its uncomputed tokens within the budget, and within the cap if a prefill. */
        private int allowance(Sequence s) {
            int count = Math.min(s.uncomputed(), budget);
            return count > 1 ? Math.min(count, prefillLeft) : count;
        }

        /** Admits a waiting sequence if its first chunk fits without preempting anyone. */
        boolean admit(Sequence s) {
            if (!fitsAlone(s)) {
                waiting.poll();
                reject(s);
                return !waiting.isEmpty() && admit(waiting.peek());
            }
            int count = allowance(s);
            if (count == 0 || s.blocks().missingFor(s.computed() + count, kv.blockSize()) > kv.blocks().free()) {
                return false;
            }
            add(s, count);
            return true;
        }

        private void add(Sequence s, int count) {
            s.blocks().growTo(s.computed() + count, kv.blockSize(), kv.blocks());
            ScheduledChunk chunk = new ScheduledChunk(s, s.computed(), count);
            chunks.put(s, chunk);
            count(chunk, 1);
        }

        /** Counts a chunk in ({@code sign} 1) or out (-1) of the budget, the decodes and the prefill allowance. */
        private void count(ScheduledChunk chunk, int sign) {
            budget -= sign * chunk.count();
            if (chunk.isDecode()) {
                decodeTokens += sign;
                decodeContext += sign * (chunk.start() + 1L);
            } else if (prefillLeft != Integer.MAX_VALUE) {
                prefillLeft -= sign * chunk.count();
            }
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
                count(planned, -1);
            }
            running.remove(victim);
            victim.evict(kv.blocks());
            waiting.add(victim);
            preempted.add(victim);
        }

        private void reject(Sequence s) {
            boolean fitsAlone = fitsAlone(s);
            s.blocks().releaseAll(kv.blocks());
            String needs = "the sequence needs " + BlockTable.ceilDiv(s.length(), kv.blockSize()) + " KV blocks of "
                    + kv.blockSize() + " tokens (" + s.length() + " tokens) but ";
            rejected.add(new Rejection(s, fitsAlone
                    ? needs + "finetuning samples hold part of the cache's " + kv.blocks().capacity() + " blocks;"
                            + " raise the KV cache memory or lower the finetuning sample length"
                    : needs + "the whole cache holds " + kv.blocks().capacity() + " blocks; raise the KV cache"
                            + " memory or shorten the request"));
        }

        private boolean fitsAlone(Sequence s) {
            return BlockTable.ceilDiv(s.length(), kv.blockSize()) <= kv.blocks().capacity();
        }

        private Sequence newestRunning() {
            return running.stream().max(Comparator.comparingLong(Sequence::id)).orElseThrow();
        }
    }
}
