package org.flexllm.examples.soak;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What the process holds at one moment: the bytes of live objects on the heap ({@link LiveHeap}); native memory as the JVM's Native Memory
 * Tracking counts it, committed bytes by category, summed over the categories the soak's bound judges
 * ({@code nativeBytes}: FFM arenas, thread stacks and the rest that requests, adapters and jobs allocate) and over
 * the JVM's own machinery ({@code machineryBytes}: compiled code, compilers, collector, class metadata; see
 * {@link NativeMemory#JVM_MACHINERY}); the resident set, a secondary figure (it moves with pages the kernel keeps,
 * not with what the process allocated); and live threads, by name.
 */
public record Resources(long heapBytes, long nativeBytes, long machineryBytes, Map<String, Long> nativeByCategory,
                        long residentBytes, int threads, @JsonIgnore List<String> threadNames) {
    private static final Path STATUS = Path.of("/proc/self/status");

    static Resources now() {
        long live = LiveHeap.bytes();
        List<String> names = Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().toList();
        return of(live, NativeMemory.committed(), currentResidentBytes(), names);
    }

    /** The figures of a heap in use, Native Memory Tracking's committed bytes by category, a resident set, threads. */
    static Resources of(long heapBytes, Map<String, Long> committed, long residentBytes, List<String> threadNames) {
        return new Resources(heapBytes, NativeMemory.owned(committed), NativeMemory.machinery(committed), committed,
                residentBytes, threadNames.size(), threadNames);
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

    /**
     * {@code (end − start) / start} of the native memory the bound judges ({@code nativeBytes}): a request, adapter
     * or job that leaves memory behind shows here, and the JIT's warm-up does not.
     */
    static double growth(Resources start, Resources end) {
        return (double) (end.nativeBytes - start.nativeBytes) / start.nativeBytes;
    }

    /** {@code (end − start) / start} of the JVM's own machinery, reported beside the bound, not held to it. */
    static double machineryGrowth(Resources start, Resources end) {
        return (double) (end.machineryBytes - start.machineryBytes) / start.machineryBytes;
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
