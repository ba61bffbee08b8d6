package org.flexllm.examples.soak;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What the process holds at one moment: heap in use after a collection; native memory as the JVM's Native Memory
 * Tracking counts it, committed bytes by category and in all outside the heap and the JIT's working memory
 * ({@link NativeMemory}); the resident set, a secondary figure (it moves with pages the kernel keeps, not with what
 * the process allocated); and live threads, by name.
 */
public record Resources(long heapBytes, long nativeBytes, Map<String, Long> nativeByCategory, long residentBytes,
                        int threads, @JsonIgnore List<String> threadNames) {
    private static final Path STATUS = Path.of("/proc/self/status");

    static Resources now() {
        System.gc();
        var memory = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        Map<String, Long> committed = NativeMemory.committed();
        List<String> names = Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().toList();
        return new Resources(memory.getUsed(), NativeMemory.outsideHeap(committed), committed,
                currentResidentBytes(), names.size(), names);
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

    /** {@code (end − start) / start} of native memory outside the heap, the figure the soak's 5% bound is about. */
    static double growth(Resources start, Resources end) {
        return (double) (end.nativeBytes - start.nativeBytes) / start.nativeBytes;
    }

    /** {@code (end − start) / start} of the resident set. */
    static double residentGrowth(Resources start, Resources end) {
        return (double) (end.residentBytes - start.residentBytes) / start.residentBytes;
    }

    /**
     * {@code end − start} in bytes of each category besides the heap whose committed memory changed, the largest
     * changes first: where growth came from.
     */
    static Map<String, Long> changes(Resources start, Resources end) {
        var categories = new TreeSet<>(start.nativeByCategory.keySet());
        categories.addAll(end.nativeByCategory.keySet());
        categories.remove(NativeMemory.JAVA_HEAP);
        Map<String, Long> changes = new LinkedHashMap<>();
        categories.stream().map(c -> Map.entry(c, end.committed(c) - start.committed(c)))
                .filter(e -> e.getValue() != 0)
                .sorted(Comparator.comparing((Map.Entry<String, Long> e) -> Math.abs(e.getValue())).reversed())
                .forEach(e -> changes.put(e.getKey(), e.getValue()));
        return changes;
    }

    private long committed(String category) {
        return Objects.requireNonNullElse(nativeByCategory.get(category), 0L);
    }
}
