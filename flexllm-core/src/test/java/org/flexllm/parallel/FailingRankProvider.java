package org.flexllm.parallel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.flexllm.backend.Backend;
import org.flexllm.backend.BackendProvider;
import org.flexllm.backend.cpu.CpuBackend;

/**
 * The test backend {@code failing-rank}: CPU backends, but every second one made fails its attention kernel once
 * {@link #FAILING} is set. Lowest priority, so that only a test naming it gets it.
 */
public final class FailingRankProvider implements BackendProvider {
    public static final AtomicBoolean FAILING = new AtomicBoolean();
    public static final RuntimeException FAILURE = new IllegalStateException("rank 1's attention kernel failed");
    private static final AtomicInteger CREATED = new AtomicInteger();

    @Override
    public String name() {
        return "failing-rank";
    }

    @Override
    public int priority() {
        return Integer.MIN_VALUE;
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Backend create() {
        Backend cpu = new CpuBackend();
        return CREATED.getAndIncrement() % 2 == 1 ? FailingBackend.of(cpu, FAILING::get, FAILURE) : cpu;
    }
}
