package org.flexllm.engine;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The time the engine measures latencies with. The system clock in production; tests and simulations use
 * {@link #simulated()}, whose time moves only by what the latency model predicts for each iteration, so that
 * SLO outcomes do not depend on the speed or load of the machine.
 */
public interface EngineClock {
    /** Nanoseconds from an arbitrary origin. */
    long nanoTime();

    /** Called after every iteration with the latency the model predicted for it. */
    default void iterationDone(double predictedMs) {}

    static EngineClock system() {
        return System::nanoTime;
    }

    /** A clock that stands still but for each iteration's predicted latency. Thread-safe. */
    static EngineClock simulated() {
        return new EngineClock() {
            private final AtomicLong now = new AtomicLong();

            @Override
            public long nanoTime() {
                return now.get();
            }

            @Override
            public void iterationDone(double predictedMs) {
                now.addAndGet(Math.round(predictedMs * 1e6));
            }
        };
    }
}
