package org.flexllm.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The fatbin nvcc built into the jar holds every kernel the bindings launch. */
class KernelsTest {
    @Test
    void theFatbinHoldsEveryKernel() {
        var fatbin = Kernels.fatbin();
        assumeTrue(fatbin.isPresent(), "built without nvcc: the jar has no fatbin to check");
        byte[] bytes = fatbin.get();
        assertArrayEquals(Kernels.MAGIC, Arrays.copyOf(bytes, 4), "fatbin magic number");
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        for (String kernel : Kernels.NAMES) {
            assertTrue(text.contains(kernel), "the fatbin has no kernel " + kernel);
        }
    }
}
