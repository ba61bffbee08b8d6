package org.flexllm.backend.cpu;

import org.flexllm.backend.Backend;
import org.flexllm.backend.BackendProvider;

/** Registers the CPU backend: always available, lowest priority. */
public final class CpuBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Backend create() {
        return new CpuBackend();
    }
}
