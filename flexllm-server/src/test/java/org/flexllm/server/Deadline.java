package org.flexllm.server;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting for a condition that another thread brings about, with a deadline instead of a fixed sleep. */
final class Deadline {
    private Deadline() {}

    static void await(Duration limit, BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("not within " + limit + ": " + what.get());
            }
            Thread.sleep(20);
        }
    }
}
