package org.flexllm.examples.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A short soak on stories260K: more adapters than slots, cancellations, throwing and slow consumers, a KV cache
 * that preempts, a co-served job whose first attempt diverges. Memory flatness needs the long run (the note's
 * figures); here every other invariant holds.
 */
class SoakTest {
    private static final Path STORIES = Path.of(System.getProperty("flexllm.shared", "../shared"), "models/stories260K");

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void nothingIsLostStuckRefusedOrLeftInUse() throws Exception {
        SoakReport r = Soak.run(new SoakConfig(STORIES.toString(), 160, 6, 0.2, 3, 2, true, 1 << 20, 24, 3));
        assertEquals(160, r.completed() + r.cancelled() + r.failed() + r.refused(), r.toString());
        assertEquals(0, r.failed(), r.failures().toString());
        assertEquals(0, r.refused(), r.failures().toString());
        assertEquals(0, r.stuck());
        assertEquals(0, r.lostTokens());
        assertEquals(0, r.duplicatedTokens());
        assertEquals(0, r.kvBlocksInUse());
        assertEquals(0, r.adapterPins());
        assertTrue(r.cancelled() > 0 && r.completed() > 0, r.toString());
        assertTrue(r.finetuning().nanJob().contains("NanLossException"), r.finetuning().nanJob());
        assertTrue(r.finetuning().lastLoss() < r.finetuning().firstLoss(), r.finetuning().toString());
        assertEquals(Map.of(), r.failures());
        // Native memory as Native Memory Tracking counts it: the KV cache is an arena of the configured size.
        assertTrue(r.start().nativeByCategory().get("Other") >= 1 << 20, r.start().toString());
        assertTrue(r.end().nativeBytes() > 0 && !r.nativeChanges().containsKey("Java Heap"), r.toString());
    }
}
