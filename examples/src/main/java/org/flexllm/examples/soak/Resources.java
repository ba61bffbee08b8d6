package org.flexllm.examples.soak;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the process holds at one moment: heap in use after a collection, native memory (the weights, the KV cache
 * and every arena: the resident set less the heap the collector has committed, which grows and shrinks on its
 * own) and live threads, by name.
 */
public record Resources(long heapBytes, long nativeBytes, int threads, @JsonIgnore List<String> threadNames) {
    private static final Path STATUS = Path.of("/proc/self/status");

    static Resources now() {
        System.gc();
        var memory = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        List<String> names = Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().toList();
        return new Resources(memory.getUsed(), currentResidentBytes() - memory.getCommitted(), names.size(), names);
    }

    /** VmRSS from /proc (Linux); -1 elsewhere. */
    private static long currentResidentBytes() {
        try {
            return Files.readAllLines(STATUS).stream().filter(l -> l.startsWith("VmRSS:"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).findFirst().orElse(-1);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** {@code (end − start) / start} of native memory, the figure the soak's 5% bound is about. */
    static double growth(Resources start, Resources end) {
        return (double) (end.nativeBytes - start.nativeBytes) / start.nativeBytes;
    }
}
