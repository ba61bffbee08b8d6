package org.flexllm.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.SyntheticModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The token-budget policy on its own: no model runs, sequences are advanced by hand. */
class SchedulerTest {
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void close() {
        backend.close();
    }

    private Scheduler scheduler(int blocks) {
        var config = SyntheticModel.config("tiny");
        var kv = PagedKvCache.allocate(backend, config, 4, PagedKvCache.bytesPerToken(config) * 4 * blocks);
        return new Scheduler(kv, 8);
    }

    private static Sequence sequence(long id, int promptLength) {
        return new Sequence(id, new int[promptLength], promptLength + 8);
    }

    /** Runs the plan: every chunk computed, every completed sequence samples one token. */
    private static void execute(IterationPlan plan) {
        for (ScheduledChunk c : plan.chunks()) {
            boolean completes = c.start() + c.count() == c.sequence().length();
            c.sequence().advance(c.count());
            if (completes) {
                c.sequence().append(7);
            }
        }
    }

    @Test
    void decodesComeFirstAndPrefillIsChunkedToTheBudget() {
        Scheduler s = scheduler(64);
        Sequence old = sequence(0, 5);
        s.add(old);
        execute(s.schedule(16));
        Sequence young = sequence(1, 30);
        s.add(young);
        IterationPlan plan = s.schedule(10);
        assertEquals(List.of(new ScheduledChunk(old, 5, 1), new ScheduledChunk(young, 0, 9)), plan.chunks());
        execute(plan);
        plan = s.schedule(10);
        assertEquals(new ScheduledChunk(old, 6, 1), plan.chunks().get(0));
        assertEquals(new ScheduledChunk(young, 9, 9), plan.chunks().get(1));
    }

    @Test
    void runningOutOfBlocksPreemptsTheNewestAndRecomputesItLater() {
        Scheduler s = scheduler(4);
        Sequence a = sequence(0, 7);
        Sequence b = sequence(1, 7);
        s.add(a);
        s.add(b);
        execute(s.schedule(32));
        execute(s.schedule(32));
        IterationPlan plan = s.schedule(32);
        assertEquals(List.of(b), plan.preempted(), "a needs a third block; b is the newest");
        assertEquals(List.of(new ScheduledChunk(a, 8, 1)), plan.chunks());
        assertEquals(0, b.computed());
        assertEquals(1, s.waiting());
        s.remove(a);
        plan = s.schedule(32);
        assertEquals(List.of(new ScheduledChunk(b, 0, 9)), plan.chunks(), "b recomputes prompt and output");
    }

    @Test
    void aSequenceThatCannotFitAloneIsRejectedAndTheNextOneRuns() {
        Scheduler s = scheduler(2);
        Sequence huge = sequence(0, 9);
        Sequence small = sequence(1, 3);
        s.add(huge);
        s.add(small);
        IterationPlan plan = s.schedule(32);
        assertEquals(huge, plan.rejected().getFirst().sequence());
        assertTrue(plan.rejected().getFirst().reason().contains("holds 2 blocks"));
        assertEquals(List.of(new ScheduledChunk(small, 0, 3)), plan.chunks());
    }
}
