package org.flexllm.backend.cpu;

import java.util.LinkedHashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
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

    /** What the kernels size their tiles and loops by: the vector width and registers the JIT gives them, and threads. */
    @Override
    public Map<String, Object> facts() {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("vector_bits", FloatVector.SPECIES_PREFERRED.vectorBitSize());
        facts.put("vector_registers", VectorRegisters.COUNT);
        facts.put("threads", Parallel.threads());
        return facts;
    }
}
