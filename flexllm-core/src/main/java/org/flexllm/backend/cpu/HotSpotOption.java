package org.flexllm.backend.cpu;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/** HotSpot's view of the CPU, which decides what the JIT compiles the kernels to; defaults on other JVMs. */
final class HotSpotOption {
    private HotSpotOption() {}

    /** The value of the VM option {@code name}, or {@code otherwise} where the JVM has no such option. */
    static String value(String name, String otherwise) {
        try {
            return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
        } catch (IllegalArgumentException | UnsupportedOperationException | NullPointerException e) {
            return otherwise;
        }
    }
}
