package org.flexllm.backend.cpu;

import java.util.Locale;

/**
 * How many vector registers the CPU gives the kernels' register tiles: 32 on AVX-512 (zmm0–31) and on AArch64
 * (NEON and SVE), 16 on x86 without AVX-512 (AVX2, SSE). The JIT's view decides, not the chip's: an AVX-512
 * machine run with {@code -XX:UseAVX=2} compiles to 16 registers. The system property
 * {@value #PROPERTY} overrides the answer (16 or 32), for tests of the other tile and for CPUs the rule does
 * not know.
 */
final class VectorRegisters {
    static final String PROPERTY = "flexllm.cpu.vectorRegisters";
    /** The registers the tiles are sized for. */
    static final int COUNT = detect();

    private VectorRegisters() {}

    private static int detect() {
        String forced = System.getProperty(PROPERTY);
        if (forced != null) {
            int count = Integer.parseInt(forced.trim());
            if (count != 16 && count != 32) {
                throw new IllegalArgumentException(PROPERTY + " must be 16 or 32, was " + forced);
            }
            return count;
        }
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (arch.equals("aarch64") || arch.equals("arm64")) {
            return 32;
        }
        return useAvx() >= 3 ? 32 : 16;
    }

    /** HotSpot's UseAVX level (3: AVX-512), or 0 where the JVM has no such flag. */
    private static int useAvx() {
        return Integer.parseInt(HotSpotOption.value("UseAVX", "0"));
    }
}
