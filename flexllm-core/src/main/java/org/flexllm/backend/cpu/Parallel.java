package org.flexllm.backend.cpu;

/** Placeholder until the kernels branch lands: runs inline. */
final class Parallel {
    private Parallel() {}

    interface Range {
        void run(int from, int to);
    }

    static void forRange(int n, Range body) {
        body.run(0, n);
    }
}
