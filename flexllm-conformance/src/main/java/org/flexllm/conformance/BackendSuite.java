package org.flexllm.conformance;

import org.flexllm.backend.Backend;
import org.flexllm.backend.Backends;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.Parameter;

/** A suite class's backend: one fresh instance per test, named by the class's parameter. */
abstract class BackendSuite {
    @Parameter
    String backendName;

    Backend backend;

    @BeforeEach
    void openBackend() {
        Conformance.assumeAvailable(backendName);
        backend = Backends.create(backendName);
    }

    @AfterEach
    void closeBackend() {
        if (backend != null) {  // null when the backend was unavailable and the test skipped
            backend.close();
        }
    }

    /** Operands on this test's backend, seeded by the test's arguments so that every case sees other values. */
    Operands operands(long seed) {
        return new Operands(backend, seed);
    }
}
